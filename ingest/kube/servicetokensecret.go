package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// Access service token Secrets: the leader writes a token's client id and
// secret into the Secret its spec names (sync/servicetoken's
// SecretWriter), with the same rules as the connector token Secret: the
// value goes from Cloudflare to the Secret only, never into the log,
// status, events or errors. The two keys are applied with conflux-sync's
// field manager, forcing ownership of them only: a Secret cloudflare-
// operator made keeps its name, type and other keys, and the Deployments
// reading it keep working.

// ServiceTokenSecretHolds reports whether the Secret's ClientIDKey is
// clientID and its ClientSecretKey is set; a missing Secret holds nothing.
func (s *Secrets) ServiceTokenSecretHolds(ctx context.Context, ref api.ServiceTokenSecret, clientID string) (bool, error) {
	sec, err := s.client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return string(sec.Data[ref.ClientIDKey]) == clientID && len(sec.Data[ref.ClientSecretKey]) > 0, nil
}

// WriteServiceTokenSecret creates the Secret or sets its two keys.
func (s *Secrets) WriteServiceTokenSecret(ctx context.Context, ref api.ServiceTokenSecret, clientID, clientSecret string) error {
	body, err := json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name": ref.Name, "namespace": ref.Namespace,
			"labels": map[string]string{labelManagedBy: FieldManager},
		},
		"data": map[string]string{
			ref.ClientIDKey:     base64.StdEncoding.EncodeToString([]byte(clientID)),
			ref.ClientSecretKey: base64.StdEncoding.EncodeToString([]byte(clientSecret)),
		},
	})
	if err != nil {
		return err
	}
	force := true
	if _, err := s.client.CoreV1().Secrets(ref.Namespace).Patch(ctx, ref.Name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force}); err != nil {
		// The API server's error quotes no request body.
		return fmt.Errorf("write Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return nil
}
