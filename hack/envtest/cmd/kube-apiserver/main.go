// Command kube-apiserver is the upstream kube-apiserver (k8s.io/kubernetes
// v1.37), built from the Go module proxy for envtest. Keep it plain: no flags
// or behaviour of our own.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
