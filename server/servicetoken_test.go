package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// lockedBuffer collects the log lines of every node.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCloudflareAccessServiceToken writes a service token through the
// admin API of a three-node cluster, sees its secret delivered to the
// file the spec names and its ids in the target's status, and finds the
// secret in no node's files (Raft log, FSM, snapshots), no log line (at
// debug level) and no answer of the admin API. The token goes with its
// fragment.
func TestCloudflareAccessServiceToken(t *testing.T) {
	cf := newCloudflare(t, nil)
	logs := &lockedBuffer{}
	var dataDirs []string
	var mu sync.Mutex
	_, cl := newCloudflareCluster(t, cf, func(cfg *server.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", cfg.NodeID)
		mu.Lock()
		dataDirs = append(dataDirs, cfg.DataDir)
		mu.Unlock()
	})
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens", "ci.json")
	frag := api.Fragment{Target: api.TargetRef{Kind: cfapi.KindAccessServiceToken, Name: "ci"}, Source: api.SourceRef{Kind: "API", Name: "token-demo"}, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"ci","duration":"720h","file":%q}`, cfAccount, path))}
	if _, err := cl.PutFragment(ctx, frag); err != nil {
		t.Fatal(err)
	}
	var tok emu.ServiceTokenInfo
	var file struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if !waitUntil(30*time.Second, func() bool {
		ts := cf.emu.ServiceTokens(cfAccount)
		b, err := os.ReadFile(path)
		if len(ts) != 1 || err != nil || json.Unmarshal(b, &file) != nil {
			return false
		}
		tok = ts[0]
		return file.ClientSecret == tok.Secret
	}) {
		t.Fatalf("tokens %+v, file %+v", cf.emu.ServiceTokens(cfAccount), file)
	}
	if tok.Name != "ci" || tok.Duration != "720h" || file.ClientID != tok.ClientID {
		t.Fatalf("token %+v, file %+v", tok, file)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, frag.Target)
		return err == nil && tg.Status != nil && tg.Status.DownstreamIDs["tokenId"] == tok.ID && tg.Status.DownstreamIDs["clientId"] != ""
	}) {
		t.Fatalf("target status %+v", tg.Status)
	}
	ids := tg.Status.DownstreamIDs
	if ids["clientId"] != tok.ClientID || ids["expiresAt"] != tok.ExpiresAt.Format(time.RFC3339) || ids["deliveredTo"] != "file "+path {
		t.Fatalf("ids %v", ids)
	}

	// The secret is nowhere but in the file.
	answers, _ := json.Marshal(tg)
	if strings.Contains(string(answers), tok.Secret) || strings.Contains(logs.String(), tok.Secret) {
		t.Fatalf("the secret is in the target or the logs")
	}
	if !strings.Contains(logs.String(), "delivered Access service token secret") {
		t.Fatalf("the logs (at debug level) do not show the delivery: the check above read nothing")
	}
	mu.Lock()
	dirs := append([]string(nil), dataDirs...)
	mu.Unlock()
	checkSecretsNotStored(t, dirs, tok.ClientID, tok.Secret)

	if _, err := cl.DeleteFragment(ctx, frag.Target, frag.Source); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(30*time.Second, func() bool { return len(cf.emu.ServiceTokens(cfAccount)) == 0 }) {
		t.Fatalf("after removing the fragment: tokens %+v", cf.emu.ServiceTokens(cfAccount))
	}
}
