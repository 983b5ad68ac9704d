package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// `conflux-sync emulator cloudflare` serves the emulator to the real
// cloudflare-go client and stops cleanly on SIGINT.
func TestE2ECloudflareEmulatorCommand(t *testing.T) {
	needBinary(t)
	addr := testutil.Addr(testutil.FreePort(t))
	var stdout, stderr testutil.SyncBuffer
	cmd := exec.Command(binPath, "emulator", "cloudflare", "--addr", addr, "--zone", "example.com", "--zone", "example.org")
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	eventually(t, 20*time.Second, "the emulator prints its token", func() error {
		if !strings.Contains(stdout.String(), "Press Ctrl-C") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	m := regexp.MustCompile(`API token: (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no token in the output:\n%s", stdout.String())
	}

	api, err := cloudflare.NewWithAPIToken(m[1], cloudflare.BaseURL("http://"+addr+"/client/v4"),
		cloudflare.UsingRateLimit(1000), cloudflare.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, z := range []string{"example.com", "example.org"} {
		if _, err := api.ZoneIDByName(z); err != nil {
			t.Errorf("zone %s: %v", z, err)
		}
	}
	bad, _ := cloudflare.NewWithAPIToken("wrong", cloudflare.BaseURL("http://"+addr+"/client/v4"), cloudflare.UsingRetryPolicy(0, 0, 0))
	var authErr *cloudflare.AuthorizationError
	if _, err := bad.ListZonesContext(ctx); !errors.As(err, &authErr) {
		t.Errorf("wrong token: got %v, want an authorization error", err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Fatalf("emulator exited with %v after SIGINT, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop within 10s of SIGINT")
	}
}
