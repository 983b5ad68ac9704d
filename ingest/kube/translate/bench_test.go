package translate

import (
	"fmt"
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// BenchmarkIngress measures one reconcile's translation of a typical
// Ingress (two hosts' paths, annotations, DNS), which the leader repeats for
// every object on every resync.
func BenchmarkIngress(b *testing.B) {
	l, ing := newFake(), webIngress()
	b.ReportAllocs()
	for b.Loop() {
		if r := Ingress(ing, l, opts); len(r.Problems) > 0 || len(r.Fragments) == 0 {
			b.Fatalf("unexpected result: %+v", r.Problems)
		}
	}
}

// BenchmarkTunnelBinding measures a TunnelBinding with 100 subjects.
func BenchmarkTunnelBinding(b *testing.B) {
	l, tb := newFake(), bigBinding(100)
	b.ReportAllocs()
	for b.Loop() {
		if r := TunnelBinding(Group, tb, l, opts); len(r.Problems) > 0 {
			b.Fatalf("unexpected problems: %v", r.Problems)
		}
	}
}

func bigBinding(n int) *v1alpha2.TunnelBinding {
	b := webBinding()
	b.Subjects = nil
	for i := range n {
		b.Subjects = append(b.Subjects, v1alpha2.TunnelBindingSubject{Name: "web",
			Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: fmt.Sprintf("h%03d.example.com", i)}})
	}
	return b
}
