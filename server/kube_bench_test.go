package server_test

import (
	"fmt"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/util/retry"

	"github.com/conflux-sync/conflux-sync/server"
)

// BenchmarkKubeIngressConvergence: one Ingress change at a time, from the
// update call to the Kubernetes API server to the Cloudflare emulator
// accepting a tunnel configuration that holds it. A real kube-apiserver
// (envtest), three nodes in this process and the default sync settings
// (500ms debounce), as BenchmarkCloudflareConvergence measures the same
// path from a fragment write. Without the envtest binaries it skips, unless
// CONFLUX_REQUIRE_ENVTEST=1.
func BenchmarkKubeIngressConvergence(b *testing.B) {
	f := newKubeFixtureConfig(b, nil, func(_ string, cfg *server.Config) {
		cfg.Sync.Debounce = 0 // the engine's default, as in production
	})
	f.tunnel()
	const name = "bench"
	f.create(f.ingress(name, "i-start.example.com", "/", "http"))
	if _, ok := f.cf.waitPut("i-start.example.com", 60*time.Second); !ok {
		b.Fatal("the first Ingress never reached the emulator")
	}

	var samples []time.Duration
	b.ResetTimer()
	for i := range b.N {
		host := fmt.Sprintf("i%d.example.com", i)
		var start time.Time
		// conflux-sync writes status annotations on the Ingress, so an
		// update may meet a conflict; only the accepted update's call is
		// timed.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var ing networkingv1.Ingress
			f.get(&ing, name)
			ing.Spec.Rules[0].Host = host
			start = time.Now()
			return f.k8s.Update(f.ctx, &ing)
		})
		if err != nil {
			b.Fatalf("update Ingress: %v", err)
		}
		at, ok := f.cf.waitPut(host, 30*time.Second)
		if !ok {
			b.Fatalf("%s never reached the emulator", host)
		}
		samples = append(samples, at.Sub(start))
	}
	reportPercentiles(b, samples, "ms")
}
