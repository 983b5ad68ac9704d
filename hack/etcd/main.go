// Command etcd is a plain etcd server built from the Go module proxy.
//
// It exists so that the project can run a real etcd without downloading
// release binaries: hack/etcd/bench-etcd.sh uses it as a write-throughput
// comparison point for `conflux-sync bench`, and envtest can use it as the
// etcd behind kube-apiserver. Keep it a plain etcd: no flags or behaviour of
// our own.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
