package server_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// checkSecretsNotStored fails if any file under the nodes' data dirs holds
// one of secrets. It first waits until every node's Raft log (raft.db)
// holds recorded, a value the target's status records beside the secret
// (polled: a follower may apply it a moment later), so the files searched
// are the ones that would hold the secret had it entered the log.
func checkSecretsNotStored(t *testing.T, dirs []string, recorded string, secrets ...string) {
	t.Helper()
	var withRecorded int
	var leaks []string
	testutil.WaitFor(t, 30*time.Second, "every Raft log holding "+recorded, func() bool {
		withRecorded, leaks = 0, nil
		for _, dir := range dirs {
			_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil
				}
				if filepath.Base(p) == "raft.db" && bytes.Contains(b, []byte(recorded)) {
					withRecorded++
				}
				for _, s := range secrets {
					if bytes.Contains(b, []byte(s)) {
						leaks = append(leaks, p)
						break
					}
				}
				return nil
			})
		}
		return withRecorded == len(dirs)
	})
	if len(leaks) > 0 {
		t.Fatalf("a secret is in %v", leaks)
	}
}
