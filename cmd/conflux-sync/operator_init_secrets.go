package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// The Secret every node mounts at /etc/conflux-sync/secret (deploy/base,
// deploy/chart): its default name and its keys.
const (
	// DefaultClusterSecretName is the Secret deploy/base mounts.
	DefaultClusterSecretName = "conflux-sync"
	// SecretKeyClusterSecret holds the file --cluster-secret-file reads: one
	// secret a line, each standard base64 of 32 random bytes (the first is
	// the one in use; more lines while a rotation is under way).
	SecretKeyClusterSecret = "cluster-secret"
	// SecretKeyTokens holds the file --token-file reads: ROLE:TOKEN lines.
	SecretKeyTokens = "tokens"
	// SecretKeyClientToken is the key of an --admin-token-secret: one bare
	// token, what a client's CONFLUX_SYNC_TOKEN takes.
	SecretKeyClientToken = "token"
)

// DefaultInitSecretsRequestTimeout bounds each call to the API server, so
// a Job whose API server does not answer fails (and is retried by its
// backoff) instead of hanging.
const DefaultInitSecretsRequestTimeout = 30 * time.Second

// initSecretsAttempts bounds the get → create/patch rounds. A round is lost
// only when another run changed the Secret in between, which makes the next
// round find what that run wrote; more than two rounds need more runs at
// once than anyone starts.
const initSecretsAttempts = 8

// initSecretsFieldManager names the writer in the Secret's managedFields.
const initSecretsFieldManager = "conflux-sync-init-secrets"

// secretKeys are the keys the Secret must have and how each value is
// generated, in the order messages list them.
var secretKeys = []struct {
	name     string
	generate func() []byte
}{
	{SecretKeyClusterSecret, newClusterSecretFile},
	{SecretKeyTokens, newTokenFile},
}

// newClusterSecretFile is a cluster-secret value: one standard base64
// line of 32 random bytes.
func newClusterSecretFile() []byte {
	return []byte(base64.StdEncoding.EncodeToString(randomBytes(32)) + "\n")
}

// newTokenFile is a tokens value: one admin token of 64 hex characters
// (32 random bytes).
func newTokenFile() []byte {
	return []byte("admin:" + hex.EncodeToString(randomBytes(32)) + "\n")
}

// randomBytes reads n bytes from crypto/rand, which cannot fail: since Go
// 1.24 Read never returns an error (a broken system source crashes the
// program instead of handing out weak bytes).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

type initSecretsOptions struct {
	kubeconfig string
	namespace  string
	name       string
	print      bool
	// adminTokenSecrets are Secrets to keep holding a copy of the admin
	// token, for clients in the cluster (the backup CronJob).
	adminTokenSecrets []string
}

func newOperatorInitSecretsCmd() *cobra.Command {
	o := &initSecretsOptions{}
	cmd := &cobra.Command{
		Use:   "init-secrets",
		Short: "Create the Secret the nodes mount (cluster secret, admin token), or fill in its missing keys",
		Long: `init-secrets makes sure the Kubernetes Secret the conflux-sync pods mount exists and has
both keys the server reads:

  ` + SecretKeyClusterSecret + `  the file of --cluster-secret-file: base64 of 32 random bytes, one a line
  ` + SecretKeyTokens + `          the file of --token-file: an admin token, admin:<64 hex characters>

It generates a cryptographically random value only for a key that is missing (or
empty) and never changes a key that has a value, so it is safe to run again and
from several places at once: a run that loses a race reads what the winner wrote.
deploy/base and deploy/chart run it as a Job before the pods can start. It prints
no secret; the output says how to read the admin token with kubectl.

It talks to the API server with the pod's service account in a cluster, else with
--kubeconfig (or $KUBECONFIG, ~/.kube/config). It needs create on secrets and
get, patch on the one Secret (deploy/base/init-secrets.yaml's Role).

--admin-token-secret NAME (repeatable) also creates the Secret NAME with the key
` + SecretKeyClientToken + `: the first admin token of ` + SecretKeyTokens + `, for a client in the cluster such as
deploy/components/backup's CronJob. An existing one is left as it is (after a
token rotation, delete it and run again); the Role then needs get on it too.

--print writes a complete Secret manifest with fresh values to standard output
instead, for whoever renders manifests themselves; it contacts no API server.`,
		Example: `  # In a cluster (what the Job runs):
  conflux-sync operator init-secrets --namespace conflux-sync

  # Generate the Secret into a file or a pipe, e.g. to seal it or create it yourself
  # (create, not apply: applying over an existing Secret would replace a cluster
  # secret the running nodes share):
  conflux-sync operator init-secrets --print --namespace conflux-sync | kubectl create -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.name == "" {
				return usageError{errors.New("--name: the Secret needs a name")}
			}
			for _, n := range o.adminTokenSecrets {
				if n == "" || n == o.name {
					return usageError{fmt.Errorf("--admin-token-secret %q: want the name of another Secret than --name", n)}
				}
			}
			if o.print {
				if len(o.adminTokenSecrets) > 0 {
					return usageError{errors.New("--print writes the one Secret --name; it cannot be combined with --admin-token-secret")}
				}
				return printSecretManifest(cmd.OutOrStdout(), o.namespace, o.name)
			}
			return runInitSecrets(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the pod's service account in a cluster, else $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "the Secret's namespace (default: the pod's namespace in a cluster, else the kubeconfig context's)")
	f.StringVar(&o.name, "name", DefaultClusterSecretName, "the Secret's name (the one the StatefulSet mounts)")
	f.StringSliceVar(&o.adminTokenSecrets, "admin-token-secret", nil, "also create these Secrets (comma list) holding the admin token under the key "+SecretKeyClientToken+", for clients in the cluster; existing ones are kept")
	f.BoolVar(&o.print, "print", false, "print a new Secret manifest with fresh values to standard output instead of talking to the API server")
	return cmd
}

// runInitSecrets connects to the API server and ensures the Secret.
func runInitSecrets(ctx context.Context, w io.Writer, o *initSecretsOptions) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		return fmt.Errorf("kubernetes client configuration: %w", err)
	}
	rc.UserAgent = "conflux-sync operator init-secrets"
	rc.Timeout = DefaultInitSecretsRequestTimeout
	ns := o.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return fmt.Errorf("--namespace not set and none from the kubeconfig or the pod: %w", err)
		}
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	out, err := ensureSecret(ctx, cs.CoreV1().Secrets(ns), ns, o.name)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, out.summary(ns, o.name))
	for _, n := range o.adminTokenSecrets {
		created, err := ensureAdminTokenSecret(ctx, cs.CoreV1().Secrets(ns), ns, n, o.name, out.data[SecretKeyTokens])
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(w, "Secret %s/%s created with the admin token under %s.\n", ns, n, SecretKeyClientToken)
		} else {
			fmt.Fprintf(w, "Secret %s/%s exists: kept.\n", ns, n)
		}
	}
	fmt.Fprintf(w, "Read the admin token with:\n  kubectl -n %s get secret %s -o jsonpath='{.data.%s}' | base64 -d | sed -n 's/^admin://p'\n", ns, o.name, SecretKeyTokens)
	return nil
}

// secretOutcome is what ensureSecret found and did.
type secretOutcome struct {
	created   bool
	generated []string // keys given new random values by this run
	kept      []string // keys that already had a value
	// data is the Secret's data after the run (never printed).
	data map[string][]byte
	// rounds counts the get → create/patch rounds; more than one means
	// another run got in between.
	rounds int
}

// summary says what happened without a single secret byte.
func (o secretOutcome) summary(namespace, name string) string {
	switch {
	case o.created:
		return fmt.Sprintf("Secret %s/%s created with %s generated.", namespace, name, strings.Join(o.generated, " and "))
	case len(o.generated) > 0:
		return fmt.Sprintf("Secret %s/%s existed: generated %s; kept %s.", namespace, name, strings.Join(o.generated, ", "), listOrNone(o.kept))
	default:
		return fmt.Sprintf("Secret %s/%s exists with %s: nothing to do.", namespace, name, strings.Join(o.kept, " and "))
	}
}

func listOrNone(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

// ensureSecret gets or creates the Secret and fills in its missing keys.
// Concurrent runs agree on one value per key: a create that finds the
// Secret already there, or a patch whose resourceVersion is no longer the
// Secret's, starts over from a fresh read and so adopts the other run's
// values.
func ensureSecret(ctx context.Context, secrets corev1client.SecretInterface, namespace, name string) (secretOutcome, error) {
	var lastErr error
	for round := 1; round <= initSecretsAttempts; round++ {
		out, retry, err := ensureSecretOnce(ctx, secrets, namespace, name)
		if !retry {
			out.rounds = round
			return out, err
		}
		lastErr = err
	}
	return secretOutcome{}, fmt.Errorf("Secret %s/%s kept changing under %d attempts: %w", namespace, name, initSecretsAttempts, lastErr)
}

// ensureSecretOnce is one round; retry reports that another writer got in
// between and the round should be repeated.
func ensureSecretOnce(ctx context.Context, secrets corev1client.SecretInterface, namespace, name string) (out secretOutcome, retry bool, err error) {
	cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "conflux-sync"}},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{},
		}
		for _, k := range secretKeys {
			s.Data[k.name] = k.generate()
			out.generated = append(out.generated, k.name)
		}
		created, err := secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: initSecretsFieldManager})
		if apierrors.IsAlreadyExists(err) {
			return secretOutcome{}, true, fmt.Errorf("create Secret %s/%s: %w", namespace, name, err)
		}
		if err != nil {
			return secretOutcome{}, false, fmt.Errorf("create Secret %s/%s: %w", namespace, name, err)
		}
		out.created, out.data = true, created.Data
		return out, false, nil
	}
	if err != nil {
		return secretOutcome{}, false, fmt.Errorf("get Secret %s/%s: %w", namespace, name, err)
	}

	fill := map[string][]byte{}
	for _, k := range secretKeys {
		// Whitespace only is as good as missing: no server accepts it, and
		// filling it loses nothing.
		if len(strings.TrimSpace(string(cur.Data[k.name]))) > 0 {
			out.kept = append(out.kept, k.name)
			continue
		}
		fill[k.name] = k.generate()
		out.generated = append(out.generated, k.name)
	}
	if len(fill) == 0 {
		out.data = cur.Data
		return out, false, nil
	}
	// A merge patch of the missing keys only, guarded by the
	// resourceVersion read: it never touches a key another writer set.
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": cur.ResourceVersion},
		"data":     fill, // []byte marshals as base64, the wire form of data
	})
	if err != nil {
		return secretOutcome{}, false, fmt.Errorf("patch for Secret %s/%s: %w", namespace, name, err)
	}
	patched, err := secrets.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: initSecretsFieldManager})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return secretOutcome{}, true, fmt.Errorf("patch Secret %s/%s: %w", namespace, name, err)
	}
	if err != nil {
		return secretOutcome{}, false, fmt.Errorf("patch Secret %s/%s (add %s): %w", namespace, name, strings.Join(out.generated, ", "), err)
	}
	out.data = patched.Data
	return out, false, nil
}

// firstAdminToken is the first admin token of a token file, or "".
func firstAdminToken(tokens []byte) string {
	for _, line := range strings.Split(string(tokens), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		role, tok, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.TrimSpace(role) == "admin" && strings.TrimSpace(tok) != "" {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// ensureAdminTokenSecret creates the Secret name with the first admin token
// of tokens (the tokens key of the Secret from) under SecretKeyClientToken,
// unless it exists. Concurrent runs
// copy the same token (the tokens they agreed on), so whichever create
// wins, the value is the same.
func ensureAdminTokenSecret(ctx context.Context, secrets corev1client.SecretInterface, namespace, name, from string, tokens []byte) (created bool, err error) {
	cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		if len(strings.TrimSpace(string(cur.Data[SecretKeyClientToken]))) == 0 {
			return false, fmt.Errorf("Secret %s/%s exists without the key %s: delete it, and the next run creates it", namespace, name, SecretKeyClientToken)
		}
		return false, nil
	case !apierrors.IsNotFound(err):
		return false, fmt.Errorf("get Secret %s/%s: %w", namespace, name, err)
	}
	tok := firstAdminToken(tokens)
	if tok == "" {
		return false, fmt.Errorf("Secret %s/%s: %s has no admin token to copy into Secret %s", namespace, from, SecretKeyTokens, name)
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "conflux-sync"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{SecretKeyClientToken: []byte(tok)},
	}
	_, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: initSecretsFieldManager})
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create Secret %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

// printSecretManifest writes a Secret with fresh values as YAML (namespace
// left out when empty, so `kubectl apply -n` chooses it).
func printSecretManifest(w io.Writer, namespace, name string) error {
	meta := map[string]any{"name": name, "labels": map[string]string{"app.kubernetes.io/part-of": "conflux-sync"}}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	data := map[string][]byte{}
	for _, k := range secretKeys {
		data[k.name] = k.generate()
	}
	b, err := yaml.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   meta,
		"type":       string(corev1.SecretTypeOpaque),
		"data":       data,
	})
	if err != nil {
		return fmt.Errorf("render the Secret: %w", err)
	}
	_, err = w.Write(b)
	return err
}
