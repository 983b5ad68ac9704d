package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// devOptions are the dev command's flags.
type devOptions struct {
	dataDir      string
	httpPort     int
	emulatorPort int
	confluxPort  int
	demo         bool
	dryRun       bool
	kube         kubeFlags
}

func newDevCmd() *cobra.Command {
	var (
		opts     devOptions
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a three-node cluster, a Cloudflare API emulator and a Conflux server in this process, for trying things out",
		Long: `Start three nodes on 127.0.0.1 (admin API on 7780-7782, or the next free ports),
with their data in a temporary folder unless --data-dir is given, a freshly
generated admin token, and a Cloudflare API emulator (7790 or the next free port)
that the nodes sync to, and the reference Conflux server (7791 or the next free
port; same token). Unless --demo=false, a demo registers a tunnel and rules
from three sources, so the aggregate can be seen flowing to "Cloudflare".
With --kubeconfig the nodes also watch that Kubernetes cluster.
Ctrl-C stops everything cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, false)
			if err != nil {
				return usageError{err}
			}
			setGCPercent(defaultGCPercent)
			if opts.kube.inCluster {
				return usageError{errors.New("dev watches a cluster through --kubeconfig only")}
			}
			return runDev(cmd.Context(), cmd.OutOrStdout(), logger, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.dataDir, "data-dir", "", "keep the nodes' data here (default: a temporary folder removed on exit)")
	f.IntVar(&opts.httpPort, "http-port", 7780, "first admin API port to try")
	f.IntVar(&opts.emulatorPort, "emulator-port", 7790, "first Cloudflare emulator port to try")
	f.IntVar(&opts.confluxPort, "conflux-port", 7791, "first Conflux reference server port to try")
	f.BoolVar(&opts.demo, "demo", true, "register demo sources once the cluster is ready")
	f.BoolVar(&opts.dryRun, "dry-run", false, dryRunUsage)
	f.StringVar(&logLevel, "log-level", "error", "debug, info, warn or error")
	f.StringVar(&opts.kube.kubeconfig, "kubeconfig", "", "also watch the Kubernetes cluster of this kubeconfig (Ingress, HTTPRoute, cloudflare-operator CRDs)")
	f.StringVar(&opts.kube.namespace, "kube-namespace", "default", "namespace of the Secrets of ClusterTunnels when watching Kubernetes")
	opts.kube.registerIngest(f)
	return cmd
}

// devAccount is the emulated Cloudflare account of `dev`.
const devAccount = "0123456789abcdef0123456789abcdef"

func runDev(ctx context.Context, out io.Writer, logger *slog.Logger, opts devOptions) error {
	if opts.dataDir == "" {
		tmp, err := os.MkdirTemp("", "conflux-sync-dev-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		opts.dataDir = tmp
	}
	// The demo source's file:// URL needs an absolute path.
	dataDir, err := filepath.Abs(opts.dataDir)
	if err != nil {
		return err
	}
	opts.dataDir = dataDir
	token, err := newToken()
	if err != nil {
		return err
	}
	cfToken, err := newToken()
	if err != nil {
		return err
	}
	tokens := httpapi.NewTokens(map[httpapi.Role][]string{httpapi.RoleAdmin: {token}})

	cf, err := startDevEmulator(opts.emulatorPort, cfToken)
	if err != nil {
		return err
	}
	defer cf.Close()
	cx, err := startDevConflux(opts.confluxPort, cfToken)
	if err != nil {
		return err
	}
	defer cx.Close()

	// The nodes run the secure transport, as a server does by default,
	// with a secret that lives only in this process.
	clusterSecret, err := cluster.RandomSecret()
	if err != nil {
		return err
	}
	const n = 3
	httpPorts, err := freePorts(opts.httpPort, n)
	if err != nil {
		return err
	}
	raftPorts, err := freePorts(0, n)
	if err != nil {
		return err
	}
	gossipPorts, err := freePorts(0, n)
	if err != nil {
		return err
	}
	var join []string
	for _, p := range gossipPorts {
		join = append(join, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}

	nodes := make([]*server.Node, 0, n)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for _, node := range nodes {
			node.Shutdown(sctx)
		}
	}()
	kubeCfg, err := opts.kube.config(os.Getenv)
	if err != nil {
		return usageError{err}
	}
	secretsDir, repoDir := filepath.Join(opts.dataDir, "secrets"), filepath.Join(opts.dataDir, "demo-repo")
	// The demo repository is a local folder: dev reads it, and nothing
	// else on the disk, through file://.
	localSources := ""
	if opts.demo {
		if err := createDemoRepo(repoDir, secretsDir); err != nil {
			return fmt.Errorf("create the demo Git repository: %w", err)
		}
		localSources = repoDir
	}
	for i := range n {
		id := fmt.Sprintf("dev-%d", i)
		node, err := server.Start(server.Config{
			NodeID:          id,
			DataDir:         filepath.Join(opts.dataDir, id),
			HTTPAddr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPorts[i])),
			RaftAddr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(raftPorts[i])),
			GossipAddr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(gossipPorts[i])),
			Join:            join,
			BootstrapExpect: n,
			Tokens:          tokens,
			ClusterSecrets:  [][]byte{clusterSecret},
			Cloudflare: cfapi.Config{
				Credentials: cfapi.Credentials{devAccount: cfToken},
				BaseURL:     cf.URL + "/client/v4",
			},
			Conflux:         server.ConfluxConfig{URL: cx.URL, Token: cfToken},
			Kube:            kubeCfg,
			SecretsDir:      secretsDir,
			LocalSourcesDir: localSources,
			DryRun:          opts.dryRun,
			Logger:          logger,
		})
		if err != nil {
			return fmt.Errorf("start %s: %w", id, err)
		}
		nodes = append(nodes, node)
	}

	fmt.Fprintf(out, "Starting a three-node cluster in %s ...\n", opts.dataDir)
	client, err := api.NewClient(nodes[0].URL(), api.WithToken(token))
	if err != nil {
		return err
	}
	if err := waitReady(ctx, client, 60*time.Second); err != nil {
		return err
	}
	if opts.demo {
		if err := registerDemo(ctx, client, opts.dataDir); err != nil {
			return fmt.Errorf("register the demo sources: %w", err)
		}
		if err := registerGitDemo(ctx, client, repoDir); err != nil {
			return err
		}
	}
	printDevHelp(out, devHelp{
		addrs: []string{nodes[0].URL(), nodes[1].URL(), nodes[2].URL()},
		token: token, exe: selfCommand(), emulator: cf.URL, conflux: cx.URL, cfToken: cfToken, demo: opts.demo, kube: kubeCfg.REST != nil,
		repo: repoDir, secrets: secretsDir, dryRun: opts.dryRun, tokenFile: demoTokenFile(opts.dataDir),
	})

	errs := make(chan error, n+1)
	for _, node := range nodes {
		go func() {
			if err, ok := <-node.Err(); ok && err != nil {
				errs <- err
			}
		}()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nStopping ...")
		return nil
	case err := <-errs:
		return err
	}
}

func waitReady(ctx context.Context, c *api.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := c.Ready(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the cluster did not become ready in time; run with --log-level info to see why")
		case <-tick.C:
		}
	}
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freePorts returns n ports on 127.0.0.1, starting at first and moving
// up past busy ones; first == 0 asks the kernel for any free ports. A
// gossip port must be free for both TCP and UDP.
func freePorts(first, n int) ([]int, error) {
	var ports []int
	for p := first; len(ports) < n; {
		if first == 0 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			port := l.Addr().(*net.TCPAddr).Port
			l.Close()
			if udpFree(port) {
				ports = append(ports, port)
			}
			continue
		}
		if p > first+100 {
			return nil, fmt.Errorf("no free ports from %d to %d", first, p)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			l.Close()
			ports = append(ports, p)
		}
		p++
	}
	return ports, nil
}

func udpFree(port int) bool {
	c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// selfCommand is how to run this binary from the user's shell: its plain
// name when that is on PATH, else the path it was started by.
func selfCommand() string {
	if p, err := exec.LookPath("conflux-sync"); err == nil {
		if self, err := os.Executable(); err == nil && sameFile(p, self) {
			return "conflux-sync"
		}
	}
	if self, err := os.Executable(); err == nil {
		if rel, err := filepath.Rel(mustGetwd(), self); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
		return self
	}
	return "conflux-sync"
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}
