// Command cmp-client drives an argocd-cmp-server over its unix socket the way Argo CD's repo-server does:
// Argo CD's own plugin client (cmpserver/apiclient), its repository tarball streaming (util/cmp), its plugin
// detection (util/app/discovery) and its environment building (the Application's plugin env and
// parameters through v1alpha1). Test infrastructure for tests/argocd (built by hack/build-argocd.sh).
//
// CLI contract (other tests depend on it; keep it exact):
//
//	cmp-client -socket PATH -op match|params|generate -repo DIR -app-path REL [-env KEY=VAL]... [-params JSON]
//
//	-socket    the plugin's socket (<dir>/<name>-<version>.sock); the plugin is named after the file, as an
//	           Application's spec.source.plugin.name names it
//	-repo      the repository checkout; it is tarred and streamed whole, as the repo-server does
//	-app-path  the Application's spec.source.path, relative to -repo
//	-env       an entry of the Application's spec.source.plugin.env (Argo CD passes it to the plugin as
//	           ARGOCD_ENV_KEY; a KEY already starting with ARGOCD_ENV_ is taken without that prefix)
//	-params    the Application's spec.source.plugin.parameters as JSON, e.g. [{"name":"cluster","string":"x"}]
//
// stdout (JSON): match -> {"isSupported": bool, "isDiscoveryEnabled": bool} (the raw MatchRepository
// answer); params -> the parameters announcement; generate -> {"manifests": ["<json string>", ...]}.
// params and generate first detect the plugin as the repo-server does for an Application that names it, so
// an app the plugin's discovery does not match fails as in Argo CD ("could not find cmp-server plugin ...").
// Any error -> exit 1 with the message on stderr (a gRPC error carries the plugin's stderr).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang/protobuf/ptypes/empty"
	grpc_retry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	log "github.com/sirupsen/logrus"

	pluginclient "github.com/argoproj/argo-cd/v3/cmpserver/apiclient"
	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/app/discovery"
	apppath "github.com/argoproj/argo-cd/v3/util/app/path"
	"github.com/argoproj/argo-cd/v3/util/cmp"
	utilio "github.com/argoproj/argo-cd/v3/util/io"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	log.SetOutput(os.Stderr)
	log.SetLevel(log.WarnLevel)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}

func run() error {
	var socket, op, repo, appPath, params string
	var envs multi
	flag.StringVar(&socket, "socket", "", "the plugin's unix socket")
	flag.StringVar(&op, "op", "", "match|params|generate")
	flag.StringVar(&repo, "repo", "", "the repository directory (tarred and streamed whole)")
	flag.StringVar(&appPath, "app-path", ".", "the Application's source path, relative to -repo")
	flag.Var(&envs, "env", "KEY=VAL of the Application's plugin env (repeatable)")
	flag.StringVar(&params, "params", "", "the Application's plugin parameters as JSON")
	timeout := flag.Duration("timeout", 120*time.Second, "the request deadline")
	flag.Parse()
	if socket == "" || repo == "" || (op != "match" && op != "params" && op != "generate") {
		return errors.New("usage: cmp-client -socket PATH -op match|params|generate -repo DIR -app-path REL [-env KEY=VAL]... [-params JSON]")
	}
	repoAbs, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	// The repo-server's own check: relative, inside the checkout, a directory.
	appAbs, err := apppath.Path(repoAbs, appPath)
	if err != nil {
		return err
	}
	plugin, err := pluginSource(strings.TrimSuffix(filepath.Base(socket), ".sock"), envs, params)
	if err != nil {
		return err
	}
	env, err := pluginEnv(appPath, op, plugin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var out any
	switch op {
	case "match":
		out, err = match(ctx, socket, appAbs, repoAbs, env)
	case "params":
		out, err = announce(ctx, socket, plugin.Name, appAbs, repoAbs, env)
	case "generate":
		out, err = generate(ctx, socket, plugin.Name, appAbs, repoAbs, env)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(out)
}

// pluginSource is the Application's spec.source.plugin as the flags describe it.
func pluginSource(name string, envs []string, params string) (*v1alpha1.ApplicationSourcePlugin, error) {
	p := &v1alpha1.ApplicationSourcePlugin{Name: name}
	for _, kv := range envs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-env %q: expected KEY=VAL", kv)
		}
		p.Env = append(p.Env, &v1alpha1.EnvEntry{Name: strings.TrimPrefix(k, "ARGOCD_ENV_"), Value: v})
	}
	if params != "" {
		if err := json.Unmarshal([]byte(params), &p.Parameters); err != nil {
			return nil, fmt.Errorf("-params: %w", err)
		}
	}
	return p, nil
}

// pluginEnv is what the repo-server sends: its build environment (newEnv for generate, the app-details
// subset for params and match) plus, as getPluginParamEnvs does, ARGOCD_ENV_<name> for each plugin env entry
// (with $VAR references substituted from that environment) and the parameters' environment.
func pluginEnv(appPath, op string, plugin *v1alpha1.ApplicationSourcePlugin) ([]string, error) {
	base := v1alpha1.Env{
		{Name: "ARGOCD_APP_NAME", Value: "regplan-test"},
		{Name: "ARGOCD_APP_SOURCE_REPO_URL", Value: "https://git.example.com/platform/registries.git"},
		{Name: "ARGOCD_APP_SOURCE_PATH", Value: appPath},
		{Name: "ARGOCD_APP_SOURCE_TARGET_REVISION", Value: "HEAD"},
	}
	if op == "generate" {
		base = append(base,
			&v1alpha1.EnvEntry{Name: "ARGOCD_APP_NAMESPACE", Value: "openshift-image-registry"},
			&v1alpha1.EnvEntry{Name: "ARGOCD_APP_PROJECT_NAME", Value: "default"},
			&v1alpha1.EnvEntry{Name: "ARGOCD_APP_REVISION", Value: "0123456789abcdef0123456789abcdef01234567"},
			&v1alpha1.EnvEntry{Name: "ARGOCD_APP_REVISION_SHORT", Value: "0123456"},
			&v1alpha1.EnvEntry{Name: "ARGOCD_APP_REVISION_SHORT_8", Value: "01234567"},
		)
	}
	env := base.Environ()
	if op == "generate" {
		env = append(env, "KUBE_VERSION=1.37.0", "KUBE_API_VERSIONS=v1,imageregistry.operator.openshift.io/v1")
	}
	for _, entry := range plugin.Env {
		env = append(env, fmt.Sprintf("ARGOCD_ENV_%s=%s", entry.Name, base.Envsubst(entry.Value)))
	}
	paramEnv, err := plugin.Parameters.Environ()
	if err != nil {
		return nil, fmt.Errorf("failed to generate env vars from parameters: %w", err)
	}
	return append(env, paramEnv...), nil
}

func dial(socket string) (utilio.Closer, pluginclient.ConfigManagementPluginServiceClient, error) {
	return pluginclient.NewConfigManagementPluginClientSet(socket).NewConfigManagementPluginClient()
}

// detect finds the plugin as the repo-server does for an Application naming it (discovery applies).
func detect(ctx context.Context, socket, name, appAbs, repoAbs string, env []string) (utilio.Closer, pluginclient.ConfigManagementPluginServiceClient, error) {
	dir, err := filepath.Abs(filepath.Dir(socket))
	if err != nil {
		return nil, nil, err
	}
	if err := os.Setenv(common.EnvPluginSockFilePath, dir); err != nil {
		return nil, nil, err
	}
	return discovery.DetectConfigManagementPlugin(ctx, appAbs, repoAbs, name, env, nil)
}

func match(ctx context.Context, socket, appAbs, repoAbs string, env []string) (any, error) {
	conn, client, err := dial(socket)
	if err != nil {
		return nil, err
	}
	defer utilio.Close(conn)
	if _, err := client.CheckPluginConfiguration(ctx, &empty.Empty{}); err != nil {
		return nil, fmt.Errorf("error checking plugin configuration: %w", err)
	}
	stream, err := client.MatchRepository(ctx, grpc_retry.Disable())
	if err != nil {
		return nil, fmt.Errorf("error getting stream client: %w", err)
	}
	if err := cmp.SendRepoStream(ctx, appAbs, repoAbs, stream, env, nil); err != nil {
		return nil, fmt.Errorf("error sending stream: %w", err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("error receiving stream response: %w", err)
	}
	return map[string]bool{"isSupported": resp.GetIsSupported(), "isDiscoveryEnabled": resp.GetIsDiscoveryEnabled()}, nil
}

func announce(ctx context.Context, socket, name, appAbs, repoAbs string, env []string) (any, error) {
	conn, client, err := detect(ctx, socket, name, appAbs, repoAbs, env)
	if err != nil {
		return nil, fmt.Errorf("failed to detect CMP for app: %w", err)
	}
	defer utilio.Close(conn)
	stream, err := client.GetParametersAnnouncement(ctx, grpc_retry.Disable())
	if err != nil {
		return nil, fmt.Errorf("error getting parametersAnnouncementStream: %w", err)
	}
	if err := cmp.SendRepoStream(ctx, appAbs, repoAbs, stream, env, nil); err != nil {
		return nil, fmt.Errorf("error sending file to cmp-server: %w", err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("failed to get parameter announcement: %w", err)
	}
	return resp.GetParameterAnnouncements(), nil
}

func generate(ctx context.Context, socket, name, appAbs, repoAbs string, env []string) (any, error) {
	conn, client, err := detect(ctx, socket, name, appAbs, repoAbs, env)
	if err != nil {
		return nil, err
	}
	defer utilio.Close(conn)
	if _, err := client.CheckPluginConfiguration(ctx, &empty.Empty{}); err != nil {
		return nil, fmt.Errorf("error calling cmp-server checkPluginConfiguration: %w", err)
	}
	stream, err := client.GenerateManifest(ctx, grpc_retry.Disable())
	if err != nil {
		return nil, fmt.Errorf("error getting generateManifestStream: %w", err)
	}
	if err := cmp.SendRepoStream(ctx, appAbs, repoAbs, stream, env, nil); err != nil {
		return nil, fmt.Errorf("error sending file to cmp-server: %w", err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("error generating manifests in cmp: %w", err)
	}
	manifests := resp.GetManifests()
	if manifests == nil {
		manifests = []string{}
	}
	return map[string][]string{"manifests": manifests}, nil
}
