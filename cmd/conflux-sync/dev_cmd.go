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
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/server"
)

func newDevCmd() *cobra.Command {
	var (
		dataDir  string
		httpPort int
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a three-node cluster in this process on loopback, for trying things out",
		Long: `Start three nodes on 127.0.0.1 (admin API on 7780-7782, or the next free ports),
with their data in a temporary folder unless --data-dir is given, and a freshly
generated admin token. Ctrl-C stops everything cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, false)
			if err != nil {
				return usageError{err}
			}
			setGCPercent(defaultGCPercent)
			return runDev(cmd.Context(), cmd.OutOrStdout(), logger, dataDir, httpPort)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "keep the nodes' data here (default: a temporary folder removed on exit)")
	cmd.Flags().IntVar(&httpPort, "http-port", 7780, "first admin API port to try")
	cmd.Flags().StringVar(&logLevel, "log-level", "error", "debug, info, warn or error")
	return cmd
}

func runDev(ctx context.Context, out io.Writer, logger *slog.Logger, dataDir string, httpPort int) error {
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "conflux-sync-dev-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	tokens := httpapi.NewTokens(map[httpapi.Role][]string{httpapi.RoleAdmin: {token}})

	const n = 3
	httpPorts, err := freePorts(httpPort, n)
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
	for i := range n {
		id := fmt.Sprintf("dev-%d", i)
		node, err := server.Start(server.Config{
			NodeID:          id,
			DataDir:         filepath.Join(dataDir, id),
			HTTPAddr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPorts[i])),
			RaftAddr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(raftPorts[i])),
			GossipAddr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(gossipPorts[i])),
			Join:            join,
			BootstrapExpect: n,
			Tokens:          tokens,
			Logger:          logger,
		})
		if err != nil {
			return fmt.Errorf("start %s: %w", id, err)
		}
		nodes = append(nodes, node)
	}

	fmt.Fprintf(out, "Starting a three-node cluster in %s ...\n", dataDir)
	client, err := api.NewClient(nodes[0].URL(), api.WithToken(token))
	if err != nil {
		return err
	}
	if err := waitReady(ctx, client, 60*time.Second); err != nil {
		return err
	}
	addr := nodes[0].URL()
	exe := selfCommand()
	fmt.Fprintf(out, `
conflux-sync dev is running.

  Admin API:  %[1]s  (also %[2]s, %[3]s)
  Token:      %[4]s

Try:
  export CONFLUX_SYNC_ADDR=%[1]s CONFLUX_SYNC_TOKEN=%[4]s
  %[5]s status
  echo '{"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge"},"source":{"kind":"API","name":"demo"},"generation":1,"spec":{"rules":[{"hostname":"app.example.com","service":"http://web.default.svc:80"}]}}' | %[5]s fragments put -f -
  %[5]s targets get cloudflare.TunnelConfiguration ClusterTunnel/edge

Press Ctrl-C to stop.
`, addr, nodes[1].URL(), nodes[2].URL(), token, exe)

	errs := make(chan error, n)
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
