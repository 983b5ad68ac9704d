package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/conflux-sync/conflux-sync/api"
)

// Secrets reads Secret values straight from the API server, when a flush
// needs a token: they are never cached by the informers, never proposed,
// never logged.
type Secrets struct {
	client kubernetes.Interface
}

// NewSecrets returns a Secrets reading through cfg.
func NewSecrets(cfg *rest.Config) (*Secrets, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: clientset: %w", err)
	}
	return &Secrets{client: cs}, nil
}

// SecretValue returns the value of one key of a Secret. Errors name the
// reference, never a value.
func (s *Secrets) SecretValue(ctx context.Context, ref api.SecretRef) (string, error) {
	sec, err := s.client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("Secret %s/%s not found", ref.Namespace, ref.Name)
	case err != nil:
		return "", fmt.Errorf("read Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	v, ok := sec.Data[ref.Key]
	if !ok || len(v) == 0 {
		return "", fmt.Errorf("Secret %s/%s has no key %s", ref.Namespace, ref.Name, ref.Key)
	}
	return string(v), nil
}

// Secret returns every key of a Secret, for rendering templates. Errors
// name the Secret, never a value.
func (s *Secrets) Secret(ctx context.Context, namespace, name string) (map[string]string, error) {
	sec, err := s.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("Secret %s/%s not found", namespace, name)
	case err != nil:
		return nil, fmt.Errorf("read Secret %s/%s: %w", namespace, name, err)
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		out[k] = string(v)
	}
	return out, nil
}
