// Command syncdiff answers "would Argo CD show these objects Synced?" with Argo CD's own comparison: the
// manifests a plugin generated (the target) against the live objects, through the application controller's
// diff entry point (util/argo/diff.StateDiffs, which runs gitops-engine's diff package) configured as a
// default Argo CD installation configures it (annotation resource tracking, status ignored on every kind,
// aggregated roles not ignored, client-side diff). Test infrastructure for tests/cluster/test_argocd_sync.py
// (built by hack/build-argocd.sh).
//
//	syncdiff -target FILE [-app NAME] [-dest-namespace NS] -annotate
//	    prints the target as the repo-server hands it to the controller, with the tracking annotation set
//	    (what an Argo CD sync applies), one JSON object per line
//	syncdiff -target FILE -live FILE [-app NAME] [-dest-namespace NS]
//	    prints {"modified": bool, "resources": [{"kind", "name", "namespace", "modified", "normalizedLive",
//	    "predictedLive"}]}; a target without a live object counts as modified
//
// FILE is a YAML or JSON stream (documents separated by ---). Errors: exit 1, message on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/utils/kube"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/argo"
	argodiff "github.com/argoproj/argo-cd/v3/util/argo/diff"
	"github.com/argoproj/argo-cd/v3/util/argo/normalizers"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

type resourceResult struct {
	Kind           string          `json:"kind"`
	Name           string          `json:"name"`
	Namespace      string          `json:"namespace"`
	Modified       bool            `json:"modified"`
	NormalizedLive json.RawMessage `json:"normalizedLive"`
	PredictedLive  json.RawMessage `json:"predictedLive"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}

func read(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	objs, err := kube.SplitYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return objs, nil
}

func run() error {
	targetPath := flag.String("target", "", "the generated manifests")
	livePath := flag.String("live", "", "the live objects")
	app := flag.String("app", "registry", "the Application's name")
	destNS := flag.String("dest-namespace", "openshift-image-registry", "the Application's destination namespace")
	annotate := flag.Bool("annotate", false, "print the target with the tracking annotation and stop")
	flag.Parse()
	if *targetPath == "" || (!*annotate && *livePath == "") {
		return errors.New("usage: syncdiff -target FILE (-annotate | -live FILE) [-app NAME] [-dest-namespace NS]")
	}
	targets, err := read(*targetPath)
	if err != nil {
		return err
	}
	// The repo-server sets the tracking annotation on every generated object (annotation tracking is the
	// default of Argo CD 3.x); the controller applies and compares that.
	tracking := argo.NewResourceTracking()
	for _, t := range targets {
		if err := tracking.SetAppInstance(t, common.LabelKeyAppInstance, *app, *destNS, v1alpha1.TrackingMethodAnnotation, ""); err != nil {
			return err
		}
	}
	if *annotate {
		enc := json.NewEncoder(os.Stdout)
		for i, t := range targets {
			if i > 0 {
				fmt.Println("---")
			}
			if err := enc.Encode(t.Object); err != nil {
				return err
			}
		}
		return nil
	}
	liveObjs, err := read(*livePath)
	if err != nil {
		return err
	}
	byKey := map[kube.ResourceKey]*unstructured.Unstructured{}
	for _, l := range liveObjs {
		byKey[kube.GetResourceKey(l)] = l
	}
	lives := make([]*unstructured.Unstructured, len(targets))
	for i, t := range targets {
		lives[i] = byKey[kube.GetResourceKey(t)]
	}

	// A default installation: argocd-cm without resource.customizations or resource.compareoptions, which
	// SettingsManager.GetResourceOverrides turns into "ignore /status on */*".
	defaults := settings.GetDefaultDiffOptions()
	overrides := map[string]v1alpha1.ResourceOverride{}
	if defaults.IgnoreResourceStatusField == settings.IgnoreResourceStatusInAll {
		overrides["*/*"] = v1alpha1.ResourceOverride{IgnoreDifferences: v1alpha1.OverrideIgnoreDiff{JSONPointers: []string{"/status"}}}
	}
	cfg, err := argodiff.NewDiffConfigBuilder().
		WithDiffSettings([]v1alpha1.ResourceIgnoreDifferences{}, overrides, defaults.IgnoreAggregatedRoles, normalizers.IgnoreNormalizerOpts{}).
		WithTracking(common.LabelKeyAppInstance, string(v1alpha1.TrackingMethodAnnotation)).
		WithNoCache().
		WithManager(common.ArgoCDSSAManager).
		Build()
	if err != nil {
		return err
	}
	res, err := argodiff.StateDiffs(context.Background(), lives, targets, cfg)
	if err != nil {
		return err
	}
	out := struct {
		Modified  bool             `json:"modified"`
		Resources []resourceResult `json:"resources"`
	}{Modified: res.Modified, Resources: []resourceResult{}}
	for i, d := range res.Diffs {
		t := targets[i]
		out.Resources = append(out.Resources, resourceResult{
			Kind: t.GetKind(), Name: t.GetName(), Namespace: t.GetNamespace(), Modified: d.Modified,
			NormalizedLive: raw(d.NormalizedLive), PredictedLive: raw(d.PredictedLive),
		})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func raw(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}
