package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// TestPausedLeaderServesNoStaleRead is the fault suite's sharpest case
// made deterministic: the leader is paused (SIGSTOP) while a successor is
// elected and takes a write; reads sent to the old leader during the pause
// are answered the moment it wakes, while its raft state still says
// Leader. Every one of them must see the new write (or fail); none may
// answer from the old state.
func TestPausedLeaderServesNoStaleRead(t *testing.T) {
	c := newProcCluster(t, 3)
	target := api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: faultsTunnel}
	key := faultKey{name: "paused", target: target}
	write := func(i, v int) {
		t.Helper()
		eventually(t, 30*time.Second, fmt.Sprintf("put %d", v), func() error {
			_, err := c.client(i).PutFragmentJSON(context.Background(), mustJSON(t, key.fragment(v)))
			return err
		})
	}
	old := c.leader()
	write(old, 1)

	for _, mode := range []string{"default", "consistent"} {
		t.Run(mode, func(t *testing.T) {
			p := c.nodes[old]
			p.cmd.Process.Signal(syscall.SIGSTOP)
			resumed := false
			resume := func() {
				if !resumed {
					p.cmd.Process.Signal(syscall.SIGCONT)
					resumed = true
				}
			}
			defer resume()

			var next int
			eventually(t, 30*time.Second, "a new leader among the others", func() error {
				for i := range c.nodes {
					if i == old {
						continue
					}
					st, err := c.client(i).Status(context.Background())
					if err == nil && st.State == "Leader" {
						next = i
						return nil
					}
				}
				return fmt.Errorf("no leader yet")
			})
			write(next, 2)

			// Reads queue up at the paused node, then it wakes.
			var wg, sent sync.WaitGroup
			results := make([]string, 20)
			for r := range results {
				wg.Add(1)
				sent.Add(1)
				go func() {
					defer wg.Done()
					results[r] = readValue(c, old, key, mode, sent.Done)
				}()
			}
			sent.Wait() // every request is in the paused node's socket buffers
			resume()
			wg.Wait()
			for _, r := range results {
				if r == "1" {
					t.Fatalf("a %s read answered by the woken old leader returned the overwritten value 1; all: %v", mode, results)
				}
			}
			t.Logf("%s reads at the woken old leader: %v", mode, results)
			c.waitAllReady()
			old = c.leader()
			write(old, 1)
		})
	}
}

// readValue reads key's value through node i: "1", "2", "absent" or the
// error. wrote is called once the request is written (or failed to be).
func readValue(c *procCluster, i int, k faultKey, mode string, wrote func()) string {
	var once sync.Once
	done := func() { once.Do(wrote) }
	defer done()
	q := fragmentQuery(k)
	q.Set("consistency", mode)
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { done() },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.nodes[i].url()+"/v1/fragments?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+e2eReadToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var frags []api.Fragment
	if err := json.NewDecoder(resp.Body).Decode(&frags); err != nil {
		return "error: " + err.Error()
	}
	if len(frags) == 0 {
		return "absent"
	}
	return fmt.Sprint(valueOf(frags[0].Spec))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
