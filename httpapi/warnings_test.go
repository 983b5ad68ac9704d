package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/kind"
	"github.com/conflux-sync/conflux-sync/sync/tunnel"
)

// fsmCluster leads alone and applies every proposal to an FSM at once, as
// a one-node cluster would.
type fsmCluster struct {
	leaderOnly
	fsm *fsm.FSM

	mu    sync.Mutex
	index uint64
}

func (c *fsmCluster) Apply(_ context.Context, b []byte) (any, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index++
	return c.fsm.Apply(&raft.Log{Index: c.index, Term: 1, Type: raft.LogCommand, Data: b}), c.index, nil
}

// lockedBuffer is a log destination the handlers may write concurrently.
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

// A value the tunnel kind accepts because cloudflared does, but doubts,
// is stored, and the write answers (and logs) the warning with the field's
// full path; a clean write has none.
func TestWriteReturnsWarnings(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{InitialMmapSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := fsm.New(fsm.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	s, err := New(Config{
		NodeID:  "n1",
		Cluster: &fsmCluster{leaderOnly: leaderOnly{t}, fsm: f},
		Store:   st,
		Kinds:   kind.NewRegistry(tunnel.New()),
		Tokens:  NewTokens(map[Role][]string{RoleWrite: {testWriteToken}}),
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(srv.URL, api.WithToken(testWriteToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	target := api.TargetRef{Kind: tunnel.Name, Name: "ClusterTunnel/edge"}
	src := api.SourceRef{Kind: "API", Name: "web"}
	spec := func(host string) json.RawMessage {
		return json.RawMessage(`{"rules":[{"hostname":"` + host + `","service":"http://web:80","originRequest":{"keepAliveConnections":-1}}]}`)
	}

	res, err := c.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: 1, Spec: spec("a_b.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	for _, w := range res.Warnings {
		fields[w.Field] = w.Message != ""
	}
	if len(res.Warnings) != 2 || !fields["spec.rules[0].hostname"] || !fields["spec.rules[0].originRequest.keepAliveConnections"] {
		t.Fatalf("warnings %+v, want one on the hostname and one on keepAliveConnections", res.Warnings)
	}
	if res.Changed != 1 {
		t.Fatalf("the fragment was not stored: %+v", res)
	}
	if out := logs.String(); !strings.Contains(out, "field=spec.rules[0].hostname") || !strings.Contains(out, "source=API/web") {
		t.Fatalf("warning not logged:\n%s", out)
	}

	// The same through ReplaceSourceFragments, named by the fragment's
	// index; a clean fragment adds none.
	res, err = c.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src, Fragments: []api.SourceFragment{
		{Target: target, Generation: 2, Spec: json.RawMessage(`{"rules":[{"hostname":"ok.example.com","service":"http://web:80"}]}`)},
		{Target: api.TargetRef{Kind: tunnel.Name, Name: "ClusterTunnel/other"}, Generation: 1, Spec: json.RawMessage(`{"rules":[{"hostname":"*example.com","service":"http://web:80"}]}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Field != "fragments[1].spec.rules[0].hostname" {
		t.Fatalf("warnings %+v, want one on fragments[1].spec.rules[0].hostname", res.Warnings)
	}

	res, err = c.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: 3, Spec: json.RawMessage(`{"rules":[{"hostname":"ok.example.com","service":"http://web:81"}]}`)})
	if err != nil || len(res.Warnings) != 0 {
		t.Fatalf("clean write: %+v, %v", res, err)
	}
}
