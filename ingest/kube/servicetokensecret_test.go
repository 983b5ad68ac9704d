package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
)

// The Secret is created with the two keys; on a Secret cloudflare-
// operator made, the keys are replaced and everything else kept.
func TestServiceTokenSecret(t *testing.T) {
	env, err := kubetest.Start()
	if errors.Is(err, kubetest.ErrSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s, err := NewSecrets(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	core := s.client.CoreV1()
	if _, err := core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ref := api.ServiceTokenSecret{Namespace: "apps", Name: "ci-token", ClientIDKey: "CF_ACCESS_CLIENT_ID", ClientSecretKey: "CF_ACCESS_CLIENT_SECRET"}
	if ok, err := s.ServiceTokenSecretHolds(ctx, ref, "id1.access"); ok || err != nil {
		t.Fatalf("a missing Secret holds %v, %v", ok, err)
	}
	if err := s.WriteServiceTokenSecret(ctx, ref, "id1.access", "s1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ServiceTokenSecretHolds(ctx, ref, "id1.access"); !ok || err != nil {
		t.Fatalf("holds %v, %v", ok, err)
	}
	if ok, _ := s.ServiceTokenSecretHolds(ctx, ref, "id2.access"); ok {
		t.Fatal("holds another token's id")
	}
	got, err := core.Secrets("apps").Get(ctx, "ci-token", metav1.GetOptions{})
	if err != nil || string(got.Data["CF_ACCESS_CLIENT_SECRET"]) != "s1" || got.Labels[labelManagedBy] != FieldManager || got.Type != corev1.SecretTypeOpaque {
		t.Fatalf("Secret %+v, %v", got, err)
	}

	// What the previous operator left: its own keys, its own field manager.
	prev := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "apps", Labels: map[string]string{"app": "ci"}},
		Data: map[string][]byte{"id": []byte("old.access"), "secret": []byte("old"), "note": []byte("kept")}}
	if _, err := core.Secrets("apps").Create(ctx, prev, metav1.CreateOptions{FieldManager: "cloudflare-operator"}); err != nil {
		t.Fatal(err)
	}
	ref2 := api.ServiceTokenSecret{Namespace: "apps", Name: "old", ClientIDKey: "id", ClientSecretKey: "secret"}
	if ok, err := s.ServiceTokenSecretHolds(ctx, ref2, "old.access"); !ok || err != nil {
		t.Fatalf("holds %v, %v", ok, err)
	}
	if err := s.WriteServiceTokenSecret(ctx, ref2, "new.access", "s2"); err != nil {
		t.Fatal(err)
	}
	got, err = core.Secrets("apps").Get(ctx, "old", metav1.GetOptions{})
	if err != nil || string(got.Data["id"]) != "new.access" || string(got.Data["secret"]) != "s2" || string(got.Data["note"]) != "kept" || got.Labels["app"] != "ci" {
		t.Fatalf("Secret %+v, %v", got, err)
	}
	// A namespace that does not exist: the error names the Secret, not the value.
	err = s.WriteServiceTokenSecret(ctx, api.ServiceTokenSecret{Namespace: "nope", Name: "x", ClientIDKey: "a", ClientSecretKey: "b"}, "id", "very-secret-value")
	if err == nil || !strings.Contains(err.Error(), "write Secret nope/x") || strings.Contains(err.Error(), "very-secret-value") {
		t.Fatalf("got %v", err)
	}
}
