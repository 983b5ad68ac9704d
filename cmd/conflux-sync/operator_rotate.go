package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
)

func newKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new cluster secret (base64 of 32 random bytes)",
		Long: `Print a new cluster secret for --cluster-secret-file: every server of a cluster
gets the same file. A secret is also a valid --gossip-key-file line.`,
		Example: `  conflux-sync operator keygen > cluster-secret
  kubectl -n conflux-sync create secret generic conflux-sync-cluster --from-file=cluster-secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := cluster.GenerateClusterSecret()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s)
			return nil
		},
	}
}

// Rotation steps, written as a marker comment into the file so that the
// next step knows where the rotation stands.
const (
	rotateBegin   = "begin"
	rotatePromote = "promote"
	rotateFinish  = "finish"

	rotationMarker = "# rotation: "
)

type rotateOptions struct {
	file       string
	gossipKeys bool
	wait       time.Duration
	force      bool
}

func newRotateCmd(g *globalOptions) *cobra.Command {
	var o rotateOptions
	cmd := &cobra.Command{
		Use:   "rotate begin|promote|finish|status",
		Short: "Rotate the cluster secret (or gossip keys) without downtime, one checked step at a time",
		Long: `Rotate the cluster secret in three steps, like Consul's keyring install/use/remove.
Each step reads the secret file (--file, or standard input), checks through the admin
API that every live server has loaded exactly that content, and writes the next
content (back to --file, or to standard output for a Secret to apply):

  begin    appends a new secret; servers accept it from peers, still sign and
           encrypt with the old one
  promote  makes the new secret the primary: servers re-issue their certificates
           from it and encrypt gossip with it; the old one is still accepted
  finish   drops the old secret

Servers re-read the file on SIGHUP and when it changes (--token-file-check-interval).
With --gossip-keys the same steps rotate a --gossip-key-file. status shows what each
server has loaded.`,
		Example: `  # all servers read one file (or a mounted Secret you update from stdout):
  conflux-sync operator rotate begin   --file /etc/conflux-sync/cluster-secret --wait 2m
  conflux-sync operator rotate promote --file /etc/conflux-sync/cluster-secret --wait 2m
  conflux-sync operator rotate finish  --file /etc/conflux-sync/cluster-secret --wait 2m`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{rotateBegin, rotatePromote, rotateFinish, "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			step := args[0]
			switch step {
			case rotateBegin, rotatePromote, rotateFinish, "status":
			default:
				return usageError{fmt.Errorf("unknown step %q: begin, promote, finish or status", step)}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			return runRotate(cmd.Context(), c, step, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "the secret file to read and rewrite (default: read standard input, write standard output)")
	f.BoolVar(&o.gossipKeys, "gossip-keys", false, "rotate a --gossip-key-file instead of a --cluster-secret-file")
	f.DurationVar(&o.wait, "wait", 0, "wait this long for every server to load the file before the step (and, with --file, after writing it)")
	f.BoolVar(&o.force, "force", false, "skip the check that every server loaded the current file")
	return cmd
}

// secretFile is a parsed secret or gossip key file.
type secretFile struct {
	lines  []string // base64, primary first
	keys   [][]byte
	marker string // the last rotation step written, "" when none
}

func parseSecretFile(name string, content []byte, gossipKeys bool) (secretFile, error) {
	var sf secretFile
	var err error
	if gossipKeys {
		sf.keys, err = cluster.ParseGossipKeys(name, content)
	} else {
		sf.keys, err = cluster.ParseClusterSecrets(name, content)
	}
	if err != nil {
		return sf, err
	}
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if m, ok := strings.CutPrefix(line, rotationMarker); ok {
			sf.marker = strings.TrimSpace(m)
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			sf.lines = append(sf.lines, line)
		}
	}
	return sf, nil
}

func (sf secretFile) render(gossipKeys bool) []byte {
	var b strings.Builder
	if gossipKeys {
		b.WriteString("# conflux-sync gossip keys: one base64 key a line, the first encrypts\n")
	} else {
		b.WriteString("# conflux-sync cluster secrets: one a line, the first is the primary\n")
	}
	if sf.marker != "" {
		b.WriteString(rotationMarker + sf.marker + "\n")
	}
	for _, l := range sf.lines {
		b.WriteString(l + "\n")
	}
	return []byte(b.String())
}

// nextRotation computes the content after step.
func nextRotation(cur secretFile, step string, force bool) (secretFile, error) {
	switch step {
	case rotateBegin:
		if len(cur.lines) != 1 && !force {
			return cur, fmt.Errorf("the file holds %d secrets: a rotation is in progress (marker %q); run promote or finish", len(cur.lines), cur.marker)
		}
		b := make([]byte, cluster.MinClusterSecretBytes)
		if _, err := rand.Read(b); err != nil {
			return cur, err
		}
		return secretFile{lines: append(append([]string{}, cur.lines...), base64.StdEncoding.EncodeToString(b)), marker: rotateBegin}, nil
	case rotatePromote:
		if (len(cur.lines) < 2 || cur.marker != rotateBegin) && !force {
			return cur, fmt.Errorf("nothing to promote: run begin first (the file holds %d secrets, marker %q)", len(cur.lines), cur.marker)
		}
		if len(cur.lines) < 2 {
			return cur, errors.New("nothing to promote: the file holds one secret")
		}
		last := cur.lines[len(cur.lines)-1]
		lines := append([]string{last}, cur.lines[:len(cur.lines)-1]...)
		return secretFile{lines: lines, marker: rotatePromote}, nil
	case rotateFinish:
		if (len(cur.lines) < 2 || cur.marker != rotatePromote) && !force {
			return cur, fmt.Errorf("not ready to finish: run promote first (the file holds %d secrets, marker %q)", len(cur.lines), cur.marker)
		}
		return secretFile{lines: cur.lines[:1]}, nil
	}
	return cur, fmt.Errorf("unknown step %q", step)
}

func runRotate(ctx context.Context, c *api.Client, step string, o rotateOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	name := o.file
	var content []byte
	var err error
	if o.file != "" {
		content, err = os.ReadFile(o.file)
	} else {
		name = "(stdin)"
		content, err = io.ReadAll(stdin)
	}
	if err != nil {
		return fmt.Errorf("read the secret file: %w", err)
	}
	cur, err := parseSecretFile(name, content, o.gossipKeys)
	if err != nil {
		return err
	}
	digest := cluster.SecretsDigest(cur.keys)
	if step == "status" {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "file %s: %d secret(s), digest %s, rotation step %q\n", name, len(cur.keys), digest, cur.marker)
		for _, m := range st.Members {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", m.ID, m.Gossip, orDash(loadedDigest(m, o.gossipKeys)))
		}
		return nil
	}
	next, err := nextRotation(cur, step, o.force)
	if err != nil {
		return err
	}
	if !o.force {
		if err := waitLoaded(ctx, c, digest, o.gossipKeys, o.wait); err != nil {
			return fmt.Errorf("%w; not writing the %s step (retry, or --force)", err, step)
		}
	}
	out := next.render(o.gossipKeys)
	if o.file == "" {
		_, err := stdout.Write(out)
		return err
	}
	if err := writeFileAtomic(o.file, out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rotate %s: wrote %s (%d secret(s))\n", step, o.file, len(next.lines))
	if o.wait > 0 {
		nextKeys, err := parseSecretFile(o.file, out, o.gossipKeys)
		if err != nil {
			return err
		}
		if err := waitLoaded(ctx, c, cluster.SecretsDigest(nextKeys.keys), o.gossipKeys, o.wait); err != nil {
			return fmt.Errorf("the %s step is written but %w", step, err)
		}
		fmt.Fprintf(stderr, "rotate %s: every live server loaded it\n", step)
	}
	return nil
}

func loadedDigest(m api.Member, gossipKeys bool) string {
	if gossipKeys {
		return m.GossipKeysDigest
	}
	return m.SecretsDigest
}

// waitLoaded waits up to wait (at least one check) until every live
// server reports digest.
func waitLoaded(ctx context.Context, c *api.Client, digest string, gossipKeys bool, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		st, err := c.Status(ctx)
		var behind []string
		if err == nil {
			for _, m := range st.Members {
				if m.Gossip != "alive" && m.Gossip != "suspect" {
					continue // down: it reads the file as it is when it starts
				}
				if got := loadedDigest(m, gossipKeys); got != digest {
					behind = append(behind, fmt.Sprintf("%s has %s", m.ID, orDash(got)))
				}
			}
			if len(behind) == 0 {
				return nil
			}
		}
		if !time.Now().Before(deadline) {
			if err != nil {
				return fmt.Errorf("read the cluster status: %w", err)
			}
			sort.Strings(behind)
			return fmt.Errorf("not every server loaded the file with digest %s (%s): send them SIGHUP or wait for the file check", digest, strings.Join(behind, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// writeFileAtomic replaces path with content (0600), so a server never
// reads half a file.
func writeFileAtomic(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
