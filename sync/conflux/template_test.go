package conflux

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// countingSecrets is one Secret whose value the test changes, counting
// the reads.
type countingSecrets struct {
	mu     sync.Mutex
	values map[string]string
	reads  int
}

func (s *countingSecrets) Secret(_ context.Context, name api.SecretName) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if name.Name != "db" {
		return nil, fmt.Errorf("%s not found", name)
	}
	return s.values, nil
}

func (s *countingSecrets) set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = map[string]string{k: v}
}

func (s *countingSecrets) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// templateFrag is a fragment whose one release is a template over the
// Secret db; renderedAs is what its producer rendered.
func templateFrag(text, renderedAs string) api.Fragment {
	return frag("git", 1, fmt.Sprintf(`{"config":{"format":"properties"},"releases":[{"name":"r","content":"",
		"template":{"text":%q,"secret":{"namespace":"team","name":"db"},"contentSha256":%q}}],
		"policy":{"rules":[{"priority":0,"release":"r"}]}}`, text, ContentSHA(renderedAs)))
}

func TestFlushTemplate(t *testing.T) {
	srv := emu.New(emu.Config{Tokens: []string{testToken}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	secrets := &countingSecrets{}
	secrets.set("pw", "one-s3cret")
	e := &env{srv: srv, http: hs}
	e.f = mustFlusher(t, FlusherConfig{BaseURL: hs.URL, Token: testToken, Timeout: 10 * time.Second, Secrets: secrets})
	const text = "user=shop\npw={{ .Secrets.pw }}\n"

	ids := e.mustFlush(t, nil, templateFrag(text, "user=shop\npw=one-s3cret\n"))
	if got := e.resolve(t, nil); got != "user=shop\npw=one-s3cret\n" {
		t.Fatalf("published %q", got)
	}
	if ids[IDRelease+"r"+IDShaSuffix] != ContentSHA("user=shop\npw=one-s3cret\n") {
		t.Errorf("recorded sha %q is not the rendered content's", ids[IDRelease+"r"+IDShaSuffix])
	}

	// Unchanged: no Secret read, no write.
	reads, writes := secrets.readCount(), e.writes()
	ids = e.mustFlush(t, ids, templateFrag(text, "user=shop\npw=one-s3cret\n"))
	if secrets.readCount() != reads || e.writes() != writes {
		t.Errorf("an unchanged templated release read the Secret (%d→%d) or wrote (%d→%d)", reads, secrets.readCount(), writes, e.writes())
	}

	// The Secret changed and the producer saw it: a new version.
	secrets.set("pw", "two-s3cret")
	ids = e.mustFlush(t, ids, templateFrag(text, "user=shop\npw=two-s3cret\n"))
	if got := e.resolve(t, nil); got != "user=shop\npw=two-s3cret\n" {
		t.Fatalf("after the change: %q", got)
	}

	// A Secret change the producer has not seen yet publishes nothing: the
	// leader reads no Secret for a release whose recorded version holds
	// what the producer rendered. The producer's next poll brings it.
	secrets.set("pw", "three-s3cret")
	writes = e.writes()
	ids = e.mustFlush(t, ids, templateFrag(text, "user=shop\npw=two-s3cret\n"))
	if e.writes() != writes {
		t.Errorf("published before the producer rendered the change")
	}
	// The Secret changed once more between the producer's render and the
	// flush: the leader publishes what it renders, once.
	secrets.set("pw", "four-s3cret")
	ids = e.mustFlush(t, ids, templateFrag(text, "user=shop\npw=three-s3cret\n"))
	writes = e.writes()
	ids = e.mustFlush(t, ids, templateFrag(text, "user=shop\npw=three-s3cret\n"))
	if got := e.resolve(t, nil); got != "user=shop\npw=four-s3cret\n" || e.writes() != writes {
		t.Errorf("published %q with %d more writes; want the current Secret once", got, e.writes()-writes)
	}

	// A render failure is retryable (a Secret can be fixed without a new
	// fragment) and never shows a value.
	secrets.set("pw", "five-s3cret")
	_, err := e.flush(t, ids, false, templateFrag("pw={{ .Secrets.pw | int }}\n", "x"))
	if err == nil || engine.IsPermanent(err) || strings.Contains(err.Error(), "five-s3cret") || !strings.Contains(err.Error(), "release r") {
		t.Errorf("render failure: %v; want a retryable error naming the release, without the value", err)
	}
	// No Secrets source: the error names the Secret.
	e.f = mustFlusher(t, FlusherConfig{BaseURL: hs.URL, Token: testToken, Timeout: 10 * time.Second, Registerer: nil})
	_, err = e.flush(t, ids, false, templateFrag(text, "other"))
	if err == nil || !strings.Contains(err.Error(), "Secret team/db") {
		t.Errorf("without Secrets: %v", err)
	}
}
