package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// The connector token Secret: cloudflared runs a tunnel with
// `cloudflared tunnel run` and TUNNEL_TOKEN in its environment, so every
// ready Tunnel (ClusterTunnel) gets a Secret "<name>-tunnel-token" in its
// namespace (conflux-sync's namespace) holding it, owned by the object, for
// the cloudflared Deployment to read with secretKeyRef. The token goes from
// Cloudflare to that Secret only: never into the log, status or events.
const (
	TokenSecretSuffix = "-tunnel-token"
	TokenSecretKey    = "TUNNEL_TOKEN"
	// AnnotationTunnelID on the Secret says which tunnel the token is of,
	// so it is read again only when the tunnel changes.
	AnnotationTunnelID = "conflux-sync.io/tunnel-id"
	labelManagedBy     = "app.kubernetes.io/managed-by"
)

// ensureTokenSecret writes the connector token Secret of a ready tunnel
// object when it is missing or names another tunnel.
func (t *term) ensureTokenSecret(ctx context.Context, key objKey, obj client.Object, v verdict) error {
	id := v.ids["tunnelId"]
	if t.c.cfg.TunnelTokens == nil || !v.ready || id == "" || t.c.cfg.ReadOnly {
		return nil
	}
	ns := obj.GetNamespace()
	if t.served[key.Kind].kind == "ClusterTunnel" {
		ns = t.c.cfg.Namespace
	}
	name := obj.GetName() + TokenSecretSuffix
	var existing corev1.Secret
	err := t.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &existing)
	switch {
	case err == nil && existing.Labels[labelManagedBy] != FieldManager:
		// Someone else's Secret of that name: leave it alone, say so once.
		if t.lastEvent(objKey{Kind: "token/" + key.Kind, Namespace: key.Namespace, Name: key.Name}, "taken") {
			t.recorder.Eventf(obj, corev1.EventTypeWarning, "TokenSecretTaken",
				"Secret %s/%s exists and is not managed by conflux-sync; the connector token is not written", ns, name)
		}
		return nil
	case err == nil && existing.Annotations[AnnotationTunnelID] == id:
		return nil
	case err != nil && !apierrors.IsNotFound(err):
		return err
	}
	tunnelID, token, err := t.c.cfg.TunnelTokens.TunnelToken(ctx, translate.TunnelTarget(key.Kind, key.Namespace, key.Name))
	if err != nil {
		return fmt.Errorf("read the connector token: %w", err)
	}
	if tunnelID != id {
		return fmt.Errorf("the tunnel moved from %s to %s while reading its token", id, tunnelID)
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	body, err := json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name": name, "namespace": ns,
			"labels":      map[string]string{labelManagedBy: FieldManager},
			"annotations": map[string]string{AnnotationTunnelID: id},
			"ownerReferences": []map[string]any{{
				"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind,
				"name": obj.GetName(), "uid": string(obj.GetUID()),
			}},
		},
		"type": "Opaque",
		"data": map[string]string{TokenSecretKey: base64.StdEncoding.EncodeToString([]byte(token))},
	})
	if err != nil {
		return err
	}
	sec := &corev1.Secret{}
	sec.SetNamespace(ns)
	sec.SetName(name)
	if err := t.c.client.Patch(ctx, sec, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("write Secret %s/%s: %w", ns, name, err)
	}
	t.recorder.Eventf(obj, corev1.EventTypeNormal, "TokenSecret", "connector token of tunnel %s written to Secret %s/%s (key %s)", id, ns, name, TokenSecretKey)
	return nil
}
