package cfapi

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Credentials maps Cloudflare account ids to API tokens. Its String and
// GoString never show a token, so it is safe in logs and errors.
type Credentials map[string]string

func (c Credentials) String() string {
	return fmt.Sprintf("cloudflare credentials for accounts %s", strings.Join(c.Accounts(), ", "))
}

// GoString keeps %#v from printing tokens.
func (c Credentials) GoString() string { return c.String() }

// Accounts lists the account ids, sorted.
func (c Credentials) Accounts() []string {
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Environment variables read by CredentialsFromEnv; the names are the ones
// Cloudflare's own tools use.
const (
	EnvAPIToken  = "CLOUDFLARE_API_TOKEN"
	EnvAccountID = "CLOUDFLARE_ACCOUNT_ID"
)

// CredentialsFromEnv returns the one account given by CLOUDFLARE_ACCOUNT_ID
// and CLOUDFLARE_API_TOKEN, or nil when the token is unset.
func CredentialsFromEnv(getenv func(string) string) (Credentials, error) {
	token := strings.TrimSpace(getenv(EnvAPIToken))
	if token == "" {
		return nil, nil
	}
	account := strings.TrimSpace(getenv(EnvAccountID))
	if account == "" {
		return nil, fmt.Errorf("%s is set but %s is not: the token must be tied to an account", EnvAPIToken, EnvAccountID)
	}
	return Credentials{account: token}, nil
}

// LoadCredentials reads a credentials file: one `ACCOUNT_ID:TOKEN` a line,
// blank lines and lines starting with # ignored. Errors name the line, never
// its token.
func LoadCredentials(path string) (Credentials, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cloudflare credentials: %w", err)
	}
	return parseCredentials(path, raw)
}

func parseCredentials(path string, raw []byte) (Credentials, error) {
	creds := Credentials{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		account, token, ok := strings.Cut(line, ":")
		account, token = strings.TrimSpace(account), strings.TrimSpace(token)
		switch {
		case !ok || token == "":
			return nil, fmt.Errorf("%s line %d: want ACCOUNT_ID:TOKEN", path, n)
		case account == "" || strings.ContainsAny(account, " \t/"):
			return nil, fmt.Errorf("%s line %d: account id %q is not valid", path, n, account)
		case creds[account] != "":
			return nil, fmt.Errorf("%s line %d: account %s is listed twice", path, n, account)
		}
		creds[account] = token
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("%s holds no ACCOUNT_ID:TOKEN line", path)
	}
	return creds, nil
}
