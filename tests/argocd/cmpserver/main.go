// Command argocd-cmp-server is Argo CD's Config Management Plugin server, built from the Argo CD Go module
// without the rest of the multi-binary (and its UI embed): the same command constructor the argocd binary
// dispatches to when it runs as argocd-cmp-server. Test infrastructure only (hack/build-argocd.sh).
package main

import (
	"os"

	"github.com/argoproj/argo-cd/v3/cmd/argocd-cmp-server/commands"
)

func main() {
	if err := commands.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
