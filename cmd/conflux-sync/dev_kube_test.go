package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// TestE2EDevKubernetes runs `conflux-sync dev --kubeconfig` against a real
// API server and follows the printed hint: a Secret with the emulator's
// token, a Tunnel, an IngressClass and an Ingress become a Ready Ingress.
func TestE2EDevKubernetes(t *testing.T) {
	needBinary(t)
	env := kubetest.StartForTest(t)

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	rc := env.Config
	if err := clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"envtest": {Server: rc.Host, CertificateAuthorityData: rc.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"admin": {ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData, Token: rc.BearerToken}},
		Contexts:       map[string]*clientcmdapi.Context{"envtest": {Cluster: "envtest", AuthInfo: "admin"}},
		CurrentContext: "envtest",
	}, kubeconfig); err != nil {
		t.Fatal(err)
	}

	dev := startBackground(t, "dev", "--demo=false", "--kubeconfig", kubeconfig,
		"--http-port", strconv.Itoa(testutil.FreePort(t)), "--emulator-port", strconv.Itoa(testutil.FreePort(t)))
	dev.waitOutput(t, 60*time.Second, "is running")
	out := dev.stdout.String()
	hint := regexp.MustCompile(`--from-literal=CLOUDFLARE_API_TOKEN=(\S+)`).FindStringSubmatch(out)
	cf := regexp.MustCompile(`\(emulator; token \S+, account (\S+)\)`).FindStringSubmatch(out)
	if hint == nil || cf == nil {
		t.Fatalf("dev output lacks the Kubernetes hint or the account:\n%s", out)
	}

	scheme, err := kube.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ns := "default"
	for _, obj := range []client.Object{
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "cloudflare", Namespace: ns},
			StringData: map[string]string{v1alpha2.DefaultAPITokenKey: hint[1]},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		},
		&v1alpha2.ClusterTunnel{
			ObjectMeta: metav1.ObjectMeta{Name: "edge"},
			Spec: v1alpha2.TunnelSpec{
				NewTunnel:  &v1alpha2.NewTunnel{Name: "edge"},
				Cloudflare: v1alpha2.CloudflareDetails{AccountID: cf[1], Domain: "example.com", Secret: "cloudflare", CLOUDFLARE_API_TOKEN: v1alpha2.DefaultAPITokenKey},
			},
		},
		&networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "cloudflare"},
			Spec: networkingv1.IngressClassSpec{
				Controller: translate.IngressController,
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To(v1alpha2.GroupVersion.Group), Kind: v1alpha2.KindClusterTunnel, Name: "edge"},
			},
		},
		&networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec: networkingv1.IngressSpec{
				IngressClassName: ptr.To("cloudflare"),
				Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
				}}}},
			},
		},
	} {
		if err := k8s.Create(t.Context(), obj); err != nil {
			t.Fatalf("create %T: %v", obj, err)
		}
	}
	testutil.WaitFor(t, 90*time.Second, "Ingress web ready through dev", func() bool {
		var ing networkingv1.Ingress
		if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &ing); err != nil {
			return false
		}
		return ing.Annotations[kube.AnnotationReady] == "True" && len(ing.Status.LoadBalancer.Ingress) == 1
	})
	dev.interrupt(t, 30*time.Second)
}
