package tfprovider_test

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/conflux-sync/conflux-sync/api"
	cfemu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/tfprovider"
)

const (
	accToken     = "tf-acc-admin-token-0123456789"
	accCXToken   = "tf-acc-conflux-token-0123456789"
	accCFToken   = "tf-acc-cloudflare-token-0123456789"
	accCFAccount = "0123456789abcdef0123456789abcdef"
	accZone      = "example.com"
)

// protoV6 serves the provider in-process to the real terraform binary.
var protoV6 = map[string]func() (tfprotov6.ProviderServer, error){
	"conflux": providerserver.NewProtocol6WithError(tfprovider.New("test")()),
}

// accEnv is a three-node conflux-sync cluster on 127.0.0.1 with the
// Conflux reference server and the Cloudflare emulator it syncs to.
type accEnv struct {
	URL        string // admin API of node 0
	Client     *api.Client
	Conflux    *cxemu.Server
	ConfluxURL string // base URL of the Conflux reference server (token accCXToken)
	CF         *cfemu.Server
	// Tokens are the nodes' admin API tokens (accToken); a test may
	// Reload them to rotate.
	Tokens *httpapi.Tokens
}

func newAccEnv(t *testing.T) *accEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make testacc, make test)")
	}
	cx := cxemu.New(cxemu.Config{Tokens: []string{accCXToken}})
	cxSrv := httptest.NewServer(cx)
	t.Cleanup(cxSrv.Close)
	cf := cfemu.New(cfemu.Config{Tokens: map[string]cfemu.TokenScope{accCFToken: {Accounts: []string{accCFAccount}}}})
	cf.AddAccount(accCFAccount)
	cf.AddZone(accCFAccount, accZone)
	cfSrv := httptest.NewServer(cf)
	t.Cleanup(cfSrv.Close)

	const n = 3
	ports := testutil.FreePorts(t, 3*n)
	var join []string
	for i := range n {
		join = append(join, testutil.Addr(ports[i]))
	}
	tokens := httpapi.NewTokens(map[httpapi.Role][]string{httpapi.RoleAdmin: {accToken}})
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(newTestLogWriter(t), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var nodes []*server.Node
	secret := make([]byte, 32) // the cluster secret: raft TLS and gossip keys derive from it
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("node-%d", i)
		node, err := server.Start(server.Config{
			NodeID: id, DataDir: filepath.Join(dir, id),
			GossipAddr: join[i], HTTPAddr: testutil.Addr(ports[n+i]), RaftAddr: testutil.Addr(ports[2*n+i]),
			Join: join, BootstrapExpect: n, Tokens: tokens, Logger: logger.With("node", id),
			ClusterSecrets: [][]byte{secret},
			Conflux:        server.ConfluxConfig{URL: cxSrv.URL, Token: accCXToken},
			Cloudflare:     cfapi.Config{Credentials: cfapi.Credentials{accCFAccount: accCFToken}, BaseURL: cfSrv.URL + "/client/v4"},
			Sync:           server.SyncTuning{Debounce: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second},
		})
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		t.Cleanup(func() { node.Kill() })
		nodes = append(nodes, node)
	}
	c, err := api.NewClient(nodes[0].URL(), api.WithToken(accToken))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "a leader", func() bool {
		st, err := c.Status(t.Context())
		return err == nil && st.Leader != ""
	})
	return &accEnv{URL: nodes[0].URL(), Client: c, Conflux: cx, ConfluxURL: cxSrv.URL, CF: cf, Tokens: tokens}
}

// provider is the provider block every test configuration starts with.
func (e *accEnv) provider() string {
	return fmt.Sprintf("provider \"conflux\" {\n  server_endpoint = %q\n  auth_token      = %q\n}\n", e.URL, accToken)
}

// testLogWriter sends the nodes' warnings to the test log, and drops what
// goroutines still log after the test ended (t.Log would panic).
type testLogWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func newTestLogWriter(t *testing.T) *testLogWriter {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}
