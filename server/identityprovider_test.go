package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// staticSecrets stands in for the Kubernetes Secrets an identity
// provider's client secret is read from.
type staticSecrets map[api.SecretRef]string

func (s staticSecrets) SecretValue(_ context.Context, ref api.SecretRef) (string, error) {
	if v, ok := s[ref]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%s: %w", ref, cfapi.ErrSecretNotFound)
}

// TestCloudflareAccessIdentityProvider writes a GitHub identity provider
// through the admin API of a three-node cluster: the emulator holds the
// client secret read from its Secret, the target's status the provider's
// id and the secrets' hash, and no node's files or log lines the secret.
// The provider goes with its fragment.
func TestCloudflareAccessIdentityProvider(t *testing.T) {
	cf := newCloudflare(t, nil)
	const secret = "gh-oauth-secret-7f3a9c"
	ref := api.SecretRef{Namespace: "infra", Name: "github-oauth", Key: "secret"}
	logs := &lockedBuffer{}
	var dataDirs []string
	var mu sync.Mutex
	_, cl := newCloudflareCluster(t, cf, func(cfg *server.Config) {
		cfg.Cloudflare.Secrets = staticSecrets{ref: secret}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", cfg.NodeID)
		mu.Lock()
		dataDirs = append(dataDirs, cfg.DataDir)
		mu.Unlock()
	})
	ctx := context.Background()
	frag := api.Fragment{Target: api.TargetRef{Kind: cfapi.KindAccessIdentityProvider, Name: "github"}, Source: api.SourceRef{Kind: "API", Name: "idp-demo"}, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"GitHub","type":"github","config":{"client_id":"Iv1.abc"},"secrets":{"client_secret":{"namespace":"infra","name":"github-oauth","key":"secret"}}}`, cfAccount))}
	if _, err := cl.PutFragment(ctx, frag); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(30*time.Second, func() bool {
		ps := cf.emu.IdentityProviders(cfAccount)
		return len(ps) == 1 && ps[0].Config["client_secret"] == secret && ps[0].Config["client_id"] == "Iv1.abc"
	}) {
		t.Fatalf("providers %+v", cf.emu.IdentityProviders(cfAccount))
	}
	id := cf.emu.IdentityProviders(cfAccount)[0].ID
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, frag.Target)
		return err == nil && tg.Status != nil && tg.Status.DownstreamIDs["providerId"] == id && tg.Status.DownstreamIDs["secretsHash"] != ""
	}) {
		t.Fatalf("target status %+v", tg.Status)
	}
	answers, _ := json.Marshal(tg)
	if strings.Contains(string(answers), secret) || strings.Contains(logs.String(), secret) {
		t.Fatal("the secret is in the target or the logs")
	}
	mu.Lock()
	dirs := append([]string(nil), dataDirs...)
	mu.Unlock()
	checkSecretsNotStored(t, dirs, id, secret)

	if _, err := cl.DeleteFragment(ctx, frag.Target, frag.Source); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(30*time.Second, func() bool { return len(cf.emu.IdentityProviders(cfAccount)) == 0 }) {
		t.Fatalf("after removing the fragment: providers %+v", cf.emu.IdentityProviders(cfAccount))
	}
}
