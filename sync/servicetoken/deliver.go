package servicetoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/conflux-sync/conflux-sync/api"
)

// SecretWriter writes a service token's credentials into a Kubernetes
// Secret; ingest/kube.Secrets implements it. Errors must never contain
// the secret.
type SecretWriter interface {
	// ServiceTokenSecretHolds reports whether the Secret holds the
	// credentials of the token whose client id is clientID: its
	// ClientIDKey is clientID and its ClientSecretKey is not empty. A
	// missing Secret holds nothing (false, nil).
	ServiceTokenSecretHolds(ctx context.Context, ref api.ServiceTokenSecret, clientID string) (bool, error)
	// WriteServiceTokenSecret creates or updates the Secret's two keys.
	WriteServiceTokenSecret(ctx context.Context, ref api.ServiceTokenSecret, clientID, clientSecret string) error
}

// fileCredentials is the content of a spec.file: JSON, read by people and
// scripts (jq -r .client_secret).
type fileCredentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// fileHolds reports whether path holds the credentials of clientID. A
// missing file, or one that is not ours to read, holds nothing.
func fileHolds(path, clientID string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	var c fileCredentials
	if json.Unmarshal(b, &c) != nil {
		return false, nil
	}
	return c.ClientID == clientID && c.ClientSecret != "", nil
}

// writeFile replaces path with the credentials: a temporary file in the
// same directory, mode 0600, synced, renamed over it, the directory
// synced; a crash leaves the old file or the new one. Missing directories
// are created (0700).
func writeFile(path, clientID, clientSecret string) error {
	b, err := json.Marshal(fileCredentials{ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	serr := d.Sync()
	if cerr := d.Close(); serr == nil {
		serr = cerr
	}
	if serr != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, serr)
	}
	return nil
}
