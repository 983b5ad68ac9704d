package main

// "StatefulSet on one machine" (issue #8): three `conflux-sync server`
// processes started with exactly the args and environment that
// deploy/base/statefulset.yaml gives its pods, with a short, documented list
// of substitutions for what a pod has and a process on one machine does not
// (its own IP and network namespace, a PVC, a mounted Secret, a service
// account). Then a rolling restart as the StatefulSet controller performs
// it, under write load, must lose no acknowledged write.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// Mount paths and flags of the StatefulSet that the test replaces; each
// substitution must match, so a StatefulSet the test no longer mirrors
// fails loudly instead of silently testing something else.
const (
	stsDataDirArg   = "--data-dir=/var/lib/conflux-sync"
	stsTokenFileArg = "--token-file=/etc/conflux-sync/secret/tokens"
	// The cluster secret file, from the same mounted Secret.
	stsClusterSecretArg = "--cluster-secret-file=/etc/conflux-sync/secret/cluster-secret"
	stsInClusterArg     = "--kubernetes"
	// Longest time the cluster may go without acknowledging a write while
	// pods are restarted one at a time.
	stsMaxUnavailable = 15 * time.Second
)

// TestE2EStatefulSetOnOneMachine runs the StatefulSet's three pods as
// processes and rolls them like the StatefulSet controller (RollingUpdate:
// highest ordinal first, each out of the Service, preStop, SIGTERM, back
// and Ready before the next) while clients keep writing through the
// Service. Every acknowledged write must be on every node afterwards.
func TestE2EStatefulSetOnOneMachine(t *testing.T) {
	needBinary(t)
	m := renderBase(t)
	sts, ctr := m.statefulSet(t)
	replicas := int(*sts.Spec.Replicas)
	ns := sts.Namespace

	// The controller behaviour emulated below: one pod at a time, from the
	// highest ordinal, no partition; anything else is not what this test does.
	us := sts.Spec.UpdateStrategy
	if us.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		t.Fatalf("StatefulSet updateStrategy %q: the test emulates RollingUpdate only", us.Type)
	}
	if ru := us.RollingUpdate; ru != nil {
		if ru.Partition != nil && *ru.Partition != 0 {
			t.Fatalf("StatefulSet rollingUpdate.partition %d: the test restarts every pod", *ru.Partition)
		}
		if ru.MaxUnavailable != nil && ru.MaxUnavailable.IntValue() != 1 {
			t.Fatalf("StatefulSet rollingUpdate.maxUnavailable %s: the test restarts one pod at a time", ru.MaxUnavailable.String())
		}
	}
	if len(ctr.Command) > 0 || len(ctr.EnvFrom) > 0 {
		t.Fatalf("container %s sets command %v / envFrom %v, which the test does not mirror", ctr.Name, ctr.Command, ctr.EnvFrom)
	}
	ports := map[string]int32{}
	for _, p := range ctr.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, name := range []string{"http", "raft", "gossip"} {
		if ports[name] == 0 {
			t.Fatalf("container %s has no port named %s", ctr.Name, name)
		}
	}
	probe := ctr.ReadinessProbe
	if probe == nil || probe.HTTPGet == nil {
		t.Fatalf("container %s has no httpGet readinessProbe", ctr.Name)
	}
	probePort := resolvePort(t, probe.HTTPGet.Port, ports)
	preStop := preStopSleep(t, ctr)
	grace := time.Duration(*sts.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	minReady := time.Duration(sts.Spec.MinReadySeconds) * time.Second

	// Each pod has its own IP; on one machine a loopback address per pod
	// keeps the StatefulSet's ports. Skip when something else holds them.
	ips := make([]string, replicas)
	for i := range replicas {
		ips[i] = fmt.Sprintf("127.0.0.%d", 10+i)
		for _, p := range ctr.Ports {
			network := strings.ToLower(string(p.Protocol))
			if network == "" {
				network = "tcp"
			}
			if err := portFree(network, net.JoinHostPort(ips[i], strconv.Itoa(int(p.ContainerPort)))); err != nil {
				t.Skipf("the StatefulSet's port %s/%d on %s is not available (another process holds it, or the loopback address is not configured): %v", network, p.ContainerPort, ips[i], err)
			}
		}
	}

	// The Kubernetes API the pods watch, with the namespace and the RBAC of
	// the render, reached as the pod's service account.
	kubeconfig, kenv := stsKubeconfig(t, m, sts)

	// The mounted Secret, as the render's init-secrets Job makes it: the
	// tokens file and the cluster secret file.
	secret, _ := newInitSecretsJob(t, m, kenv).run(t, kenv)
	if got, want := secret.Name, secretNameOfVolume(t, sts, "/etc/conflux-sync/secret"); got != want {
		t.Fatalf("the init-secrets Job makes Secret %s, the StatefulSet mounts %s", got, want)
	}
	tokens := secretValue(t, secret, SecretKeyTokens)
	adminToken := tokenOfRole(t, tokens, "admin")
	if err := httpapi.CheckTokenStrength(adminToken); err != nil {
		t.Fatalf("the init-secrets Job made an admin token the server refuses: %v", err)
	}
	root := t.TempDir()
	tokenFile := filepath.Join(root, "tokens")
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o400); err != nil {
		t.Fatal(err)
	}
	clusterSecretFile := filepath.Join(root, "cluster-secret")
	if err := os.WriteFile(clusterSecretFile, []byte(secretValue(t, secret, SecretKeyClusterSecret)), 0o400); err != nil {
		t.Fatal(err)
	}
	// The server that reads --cluster-secret-file comes with the cluster
	// security change; a binary without it cannot run the StatefulSet's
	// args, and that is not what this test is about.
	if help, err := exec.Command(binPath, "server", "--help").CombinedOutput(); err != nil || !strings.Contains(string(help), "--cluster-secret-file") {
		t.Skipf("this conflux-sync server has no --cluster-secret-file, which the StatefulSet passes (err %v)", err)
	}

	pods := make([]*stsPod, replicas)
	for i := range replicas {
		name := fmt.Sprintf("%s-%d", sts.Name, i)
		env := podEnv(t, m, ctr, name, ns)
		args := expandArgs(t, ctr.Args, env)
		ip := ips[i]
		dataDir := filepath.Join(root, "pvc-"+name) // the PVC: kept across restarts of the pod
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			t.Fatal(err)
		}

		// The substitutions, and only these (each must match):
		//  1. conflux-sync-N.conflux-sync-headless.conflux-sync.svc (the
		//     headless Service's DNS name of pod N) -> 127.0.0.(10+N);
		//  2. --data-dir=/var/lib/conflux-sync (the PVC mount) -> a folder per
		//     pod, kept across its restarts;
		//  3. --token-file=/etc/conflux-sync/secret/tokens and
		//     --cluster-secret-file=/etc/conflux-sync/secret/cluster-secret
		//     (the Secret mount) -> files holding the Secret's tokens and
		//     cluster-secret values, the Secret made by running the render's
		//     init-secrets Job against the API server;
		//  4. --kubernetes (in-cluster service account) -> --kubeconfig of the
		//     envtest API server, authenticated as that service account with
		//     the render's RBAC;
		//  5. added --http-addr/--raft-addr/--gossip-addr=IP:port: the defaults
		//     bind every interface, which in a pod is its own network
		//     namespace and on one machine would collide.
		//  The environment is the kubelet's expansion of the container's env
		//  (fieldRefs and secretKeyRefs), plus HOSTNAME=pod name as
		//  the container runtime sets it.
		matched := 0
		for n := range replicas {
			host := fmt.Sprintf("%s-%d.%s.%s.svc", sts.Name, n, sts.Spec.ServiceName, ns)
			for j, a := range args {
				if strings.Contains(a, host) {
					args[j] = strings.ReplaceAll(a, host, ips[n])
					matched++
				}
			}
		}
		if matched == 0 {
			t.Fatalf("%s: no headless DNS name in the args %q: the StatefulSet changed; update the substitutions", name, args)
		}
		for _, a := range args {
			if strings.Contains(a, "."+sts.Spec.ServiceName+".") || strings.Contains(a, "$(") {
				t.Fatalf("%s: arg %q still names a host or variable the test does not map", name, a)
			}
			for _, flag := range []string{"--http-addr", "--raft-addr", "--gossip-addr"} {
				if a == flag || strings.HasPrefix(a, flag+"=") {
					t.Fatalf("%s: the StatefulSet sets %s now; the test adds it itself", name, flag)
				}
			}
		}
		args = replaceArg(t, name, args, stsDataDirArg, "--data-dir="+dataDir)
		args = replaceArg(t, name, args, stsTokenFileArg, "--token-file="+tokenFile)
		args = replaceArg(t, name, args, stsClusterSecretArg, "--cluster-secret-file="+clusterSecretFile)
		args = replaceArg(t, name, args, stsInClusterArg, "--kubeconfig="+kubeconfig)
		args = append(args,
			"--http-addr="+net.JoinHostPort(ip, strconv.Itoa(int(ports["http"]))),
			"--raft-addr="+net.JoinHostPort(ip, strconv.Itoa(int(ports["raft"]))),
			"--gossip-addr="+net.JoinHostPort(ip, strconv.Itoa(int(ports["gossip"]))),
		)
		env = append(env, "HOSTNAME="+name)

		p := &proc{
			id:         name,
			dataDir:    dataDir,
			logPath:    filepath.Join(root, name+".log"),
			httpAddr:   net.JoinHostPort(ip, strconv.Itoa(int(ports["http"]))),
			raftAddr:   net.JoinHostPort(ip, strconv.Itoa(int(ports["raft"]))),
			gossipAddr: net.JoinHostPort(ip, strconv.Itoa(int(ports["gossip"]))),
		}
		cl, err := api.NewClient(p.url(), api.WithToken(adminToken), api.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
		pods[i] = &stsPod{
			proc: p, args: args, env: env, client: cl,
			readyURL: fmt.Sprintf("http://%s%s", net.JoinHostPort(ip, strconv.Itoa(int(probePort))), probe.HTTPGet.Path),
			probe:    &http.Client{Timeout: timeout},
		}
		t.Logf("%s: conflux-sync %s", name, strings.Join(args, " "))
	}
	// Registered after the temp folders, so it runs before they go (and
	// before envtest stops): kill what still runs, show logs of a failure.
	t.Cleanup(func() {
		for _, pod := range pods {
			pod.hardKill()
		}
		if t.Failed() {
			for _, pod := range pods {
				if raw, err := os.ReadFile(pod.logPath); err == nil {
					t.Logf("==== log of %s ====\n%s", pod.id, raw)
				}
			}
		}
	})

	// podManagementPolicy Parallel: all pods start at once.
	start := time.Now()
	for _, pod := range pods {
		pod.start(t)
	}
	for _, pod := range pods {
		pod.waitReady(t, 90*time.Second)
	}
	leaderID, clusterID := stsLeader(t, pods)
	t.Logf("cluster %s formed in %s, leader %s", clusterID, time.Since(start).Round(time.Millisecond), leaderID)

	// The client Service: its endpoints are the Ready pods that are not
	// terminating; each request goes to one of them (kube-proxy picks; round
	// robin here), without retries.
	eps := &serviceEndpoints{in: make([]bool, replicas)}
	for i := range pods {
		eps.set(i, true)
	}
	rec := &writeRecorder{}
	const writers, targets = 2, 16
	var ws []*testutil.AckedWriter
	for w := range writers {
		ws = append(ws, testutil.StartWriter(func(i int) (string, error) {
			frag := api.Fragment{
				Target: api.TargetRef{Kind: tunnelKind, Name: fmt.Sprintf("ClusterTunnel/sts-%d", i%targets)},
				// An API source: Kubernetes kinds (Ingress...) belong to the
				// leader's Kubernetes ingest, which sweeps those the API
				// server does not hold at the start of every term.
				Source:     api.SourceRef{Kind: "API", Namespace: "rolling-restart", Name: fmt.Sprintf("w%d-%d", w, i)},
				Generation: 1,
				Spec:       json.RawMessage(fmt.Sprintf(`{"rules":[{"hostname":"w%d-%d.example.com","service":"http://x.default.svc:80"}]}`, w, i)),
			}
			key := frag.Target.Name + "|" + frag.Source.String()
			node, ok := eps.pick()
			if !ok {
				err := errors.New("the Service has no ready endpoint")
				rec.add(-1, err)
				return key, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := pods[node].client.PutFragment(ctx, frag)
			rec.add(node, err)
			return key, err
		}))
	}
	stopWriters := func() map[string]bool {
		acked := map[string]bool{}
		for _, w := range ws {
			for k := range w.Stop() {
				acked[k] = true
			}
		}
		ws = nil
		return acked
	}
	t.Cleanup(func() {
		if ws != nil {
			stopWriters()
		}
	})
	loadStart := time.Now()
	eventually(t, 20*time.Second, "writes acknowledged before the rolling restart", func() error {
		if n := rec.successes(); n < 50 {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})

	// The rolling restart, as the StatefulSet controller and the kubelet do
	// it for RollingUpdate: highest ordinal first; the next pod only once
	// the restarted one is Ready.
	type phase struct {
		pod, leader       string
		from, to          time.Time
		shutdown, toReady time.Duration
	}
	var phases []phase
	for i := replicas - 1; i >= 0; i-- {
		pod := pods[i]
		ph := phase{pod: pod.id, from: time.Now()}
		// Deleting the pod: the endpoints controller takes it out of the
		// Service while the kubelet runs preStop (whose sleep exists to let
		// that removal reach every client before SIGTERM).
		eps.set(i, false)
		time.Sleep(preStop) // the preStop hook itself: the behaviour under test
		sigterm := time.Now()
		if err := pod.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM %s: %v", pod.id, err)
		}
		// terminationGracePeriodSeconds covers preStop and the shutdown
		// (the kubelet gives at least 2 s after preStop).
		left := max(grace-preStop, 2*time.Second)
		select {
		case <-pod.done:
		case <-time.After(left):
			t.Fatalf("%s did not exit within %s of SIGTERM (terminationGracePeriodSeconds %s, preStop %s): the kubelet would SIGKILL it", pod.id, left, grace, preStop)
		}
		ph.shutdown = time.Since(sigterm)
		if pod.werr != nil {
			t.Fatalf("%s exited uncleanly after SIGTERM: %v", pod.id, pod.werr)
		}
		// The new pod: same name, args, env and PVC.
		restarted := time.Now()
		pod.start(t)
		pod.waitReady(t, grace)
		ph.toReady = time.Since(restarted)
		time.Sleep(minReady) // spec.minReadySeconds (0 today): the controller waits it too
		eps.set(i, true)
		ph.to = time.Now()
		// Back in the same cluster from its PVC, not a new one. (One look,
		// no waiting: the controller moves on as soon as the pod is Ready.)
		st := pod.status(t)
		if st.ClusterID != clusterID {
			t.Fatalf("%s came back in cluster %q, want %q: it did not rejoin from its data folder", pod.id, st.ClusterID, clusterID)
		}
		ph.leader = st.Leader
		phases = append(phases, ph)
	}

	// A little load after the last pod is back, then stop the clients.
	afterRoll := rec.successes()
	eventually(t, 20*time.Second, "writes after the rolling restart", func() error {
		if n := rec.successes() - afterRoll; n < 20 {
			return fmt.Errorf("%d acknowledged since", n)
		}
		return nil
	})
	acked := stopWriters()
	loadEnd := time.Now()

	okCount, failures, byErr := rec.summary()
	worst, worstAt := rec.longestGap(loadStart, loadEnd)
	t.Logf("writes: %d acknowledged (%d distinct keys), %d failed, through %d clients over %s", okCount, len(acked), failures, writers, loadEnd.Sub(loadStart).Round(time.Millisecond))
	for e, n := range byErr {
		t.Logf("  failure x%d: %s", n, e)
	}
	for _, ph := range phases {
		gap, _ := rec.longestGap(ph.from, ph.to)
		t.Logf("restart of %s: %s total (preStop %s, exit %s after SIGTERM, Ready %s after start), longest window without an acknowledged write %s; leader then %s",
			ph.pod, ph.to.Sub(ph.from).Round(time.Millisecond), preStop, ph.shutdown.Round(time.Millisecond), ph.toReady.Round(time.Millisecond), gap.Round(time.Millisecond), ph.leader)
	}
	t.Logf("longest window without an acknowledged write: %s (ending %s after the load began)", worst.Round(time.Millisecond), worstAt.Sub(loadStart).Round(time.Millisecond))
	if worst > stsMaxUnavailable {
		t.Errorf("the cluster acknowledged no write for %s during the rolling restart, want under %s", worst, stsMaxUnavailable)
	}

	// After the roll: one leader, three voters, the same cluster.
	if l, cid := stsLeader(t, pods); cid != clusterID {
		t.Errorf("cluster id %q after the roll (leader %s), want %q", cid, l, clusterID)
	}

	// The --kubeconfig substitution is live: the leader's Kubernetes ingest
	// watches the API server as the service account, with the render's RBAC
	// (a forbidden list or watch would keep it from running).
	eventually(t, 30*time.Second, "the leader's Kubernetes ingest running", func() error {
		l, _ := stsLeader(t, pods)
		for _, pod := range pods {
			if pod.id != l {
				continue
			}
			req, err := http.NewRequest(http.MethodGet, pod.url()+"/metrics", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := pod.probe.Do(req)
			if err != nil {
				return err
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			for _, line := range strings.Split(string(raw), "\n") {
				if line == "conflux_kube_ingest_running 1" {
					return nil
				}
			}
			return fmt.Errorf("%s: conflux_kube_ingest_running is not 1 (HTTP %d)", l, resp.StatusCode)
		}
		return fmt.Errorf("leader %s is no pod", l)
	})

	// Every acknowledged write, read consistently through every node.
	var consistent []byte
	for _, pod := range pods {
		cl := *pod.client
		cl.Consistency = api.Consistent
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		list, err := cl.ListFragments(ctx, api.TargetRef{}, api.SourceRef{})
		cancel()
		if err != nil {
			t.Fatalf("consistent list through %s: %v", pod.id, err)
		}
		have := map[string]bool{}
		for _, f := range list {
			have[f.Target.Name+"|"+f.Source.String()] = true
		}
		var missing []string
		for k := range acked {
			if !have[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			t.Fatalf("%d of %d acknowledged writes missing from a consistent read through %s: %v", len(missing), len(acked), pod.id, missing)
		}
		raw, _ := json.Marshal(list)
		if consistent != nil && !bytes.Equal(raw, consistent) {
			t.Errorf("consistent reads through different nodes differ (%s)", pod.id)
		}
		consistent = raw
	}

	// Every node's own state machine (stale reads) converges on exactly the
	// same fragments as the consistent read, and the same targets.
	eventually(t, 30*time.Second, "equal fragments and targets in every node's FSM", func() error {
		var targets0 []byte
		for i, pod := range pods {
			cl := *pod.client
			cl.Consistency = api.Stale
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			frags, err := cl.ListFragments(ctx, api.TargetRef{}, api.SourceRef{})
			if err != nil {
				cancel()
				return fmt.Errorf("%s: %v", pod.id, err)
			}
			tgs, err := cl.ListTargets(ctx, "")
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %v", pod.id, err)
			}
			raw, _ := json.Marshal(frags)
			if !bytes.Equal(raw, consistent) {
				return fmt.Errorf("%s: %d fragments in its own state differ from the consistent read", pod.id, len(frags))
			}
			tr, _ := json.Marshal(tgs)
			if i > 0 && !bytes.Equal(tr, targets0) {
				return fmt.Errorf("%s: targets differ from %s's", pod.id, pods[0].id)
			}
			targets0 = tr
		}
		return nil
	})
	t.Logf("all %d nodes hold the same %d fragments, a superset of the %d acknowledged writes", replicas, len(decodeJSON[[]api.Fragment](t, string(consistent))), len(acked))
}

// ---- the render -----------------------------------------------------------

// manifests is `kubectl kustomize deploy/base`, one object a document.
type manifests struct{ docs [][]byte }

func renderBase(t *testing.T) *manifests {
	t.Helper()
	return renderKustomization(t, filepath.Join("deploy", "base"))
}

// renderKustomization is `kubectl kustomize` of a folder of the repository.
func renderKustomization(t *testing.T, dir string) *manifests {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv(kubetest.RequireEnv) == "1" {
			t.Fatalf("kubectl: %v (%s=1)", err, kubetest.RequireEnv)
		}
		t.Skipf("kubectl not found, cannot render deploy/base: %v", err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl, "kustomize", filepath.Join(repo, dir))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	m := &manifests{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read the render: %v", err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			m.docs = append(m.docs, doc)
		}
	}
	return m
}

// objects decodes every document into an unstructured object.
func (m *manifests) objects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range m.docs {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("decode the render: %v", err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out
}

// decode finds the one object of the kind (and name, when given) and
// decodes it into into.
func (m *manifests) decode(t *testing.T, apiVersion, kind, namespace, name string, into any) {
	t.Helper()
	var found []byte
	for i, u := range m.objects(t) {
		if u.GetAPIVersion() != apiVersion || u.GetKind() != kind || (name != "" && u.GetName() != name) || (namespace != "" && u.GetNamespace() != namespace) {
			continue
		}
		if found != nil {
			t.Fatalf("the render has more than one %s %s", kind, name)
		}
		found = m.docs[i]
	}
	if found == nil {
		t.Fatalf("the render has no %s %s %s/%s", apiVersion, kind, namespace, name)
	}
	if err := yaml.UnmarshalStrict(found, into); err != nil {
		t.Fatalf("decode %s %s: %v", kind, name, err)
	}
}

func (m *manifests) statefulSet(t *testing.T) (*appsv1.StatefulSet, corev1.Container) {
	t.Helper()
	var sts appsv1.StatefulSet
	m.decode(t, "apps/v1", "StatefulSet", "", "", &sts)
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas < 1 {
		t.Fatalf("StatefulSet %s: replicas %v", sts.Name, sts.Spec.Replicas)
	}
	if sts.Namespace == "" {
		t.Fatalf("StatefulSet %s has no namespace in the render", sts.Name)
	}
	if len(sts.Spec.Template.Spec.Containers) != 1 || len(sts.Spec.Template.Spec.InitContainers) != 0 {
		t.Fatalf("StatefulSet %s: the test mirrors exactly one container and no init containers", sts.Name)
	}
	if sts.Spec.Template.Spec.TerminationGracePeriodSeconds == nil {
		t.Fatalf("StatefulSet %s: no terminationGracePeriodSeconds", sts.Name)
	}
	return &sts, sts.Spec.Template.Spec.Containers[0]
}

func (m *manifests) secret(t *testing.T, namespace, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	m.decode(t, "v1", "Secret", namespace, name, &s)
	return &s
}

// secretValue is a Secret's key as the pod sees it (stringData is merged
// into data by the API server).
func secretValue(t *testing.T, s *corev1.Secret, key string) string {
	t.Helper()
	if v, ok := s.StringData[key]; ok {
		return v
	}
	if v, ok := s.Data[key]; ok {
		return string(v)
	}
	t.Fatalf("Secret %s has no key %s", s.Name, key)
	return ""
}

// secretNameOfVolume is the Secret mounted at path in the container.
func secretNameOfVolume(t *testing.T, sts *appsv1.StatefulSet, path string) string {
	t.Helper()
	ctr := sts.Spec.Template.Spec.Containers[0]
	for _, vm := range ctr.VolumeMounts {
		if vm.MountPath != path {
			continue
		}
		for _, v := range sts.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.Secret != nil {
				return v.Secret.SecretName
			}
		}
	}
	t.Fatalf("no Secret volume mounted at %s: the StatefulSet changed; update the test", path)
	return ""
}

// tokenOfRole is the first token of role in a ROLE:TOKEN file.
func tokenOfRole(t *testing.T, file, role string) string {
	t.Helper()
	for _, line := range strings.Split(file, "\n") {
		if r, tok, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && r == role && tok != "" {
			return tok
		}
	}
	t.Fatalf("the Secret's tokens have no %s token", role)
	return ""
}

// ---- the kubelet's part -----------------------------------------------------

// podEnv expands the container's env as the kubelet does for pod name in
// namespace: values (with $(VAR) of earlier entries), fieldRefs and
// secretKeyRefs. Anything else fails: the test would not mirror it.
func podEnv(t *testing.T, m *manifests, ctr corev1.Container, name, namespace string) []string {
	t.Helper()
	vars := map[string]string{}
	var env []string
	for _, e := range ctr.Env {
		var v string
		switch src := e.ValueFrom; {
		case src == nil:
			v = expandK8s(e.Value, vars)
		case src.FieldRef != nil:
			switch src.FieldRef.FieldPath {
			case "metadata.name":
				v = name
			case "metadata.namespace":
				v = namespace
			default:
				t.Fatalf("env %s: fieldRef %s is not mirrored by the test", e.Name, src.FieldRef.FieldPath)
			}
		case src.SecretKeyRef != nil:
			v = secretValue(t, m.secret(t, namespace, src.SecretKeyRef.Name), src.SecretKeyRef.Key)
		default:
			t.Fatalf("env %s: valueFrom %+v is not mirrored by the test", e.Name, src)
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env
}

// expandArgs expands $(VAR) in the container's args with its env.
func expandArgs(t *testing.T, args []string, env []string) []string {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = expandK8s(a, vars)
	}
	return out
}

// expandK8s is Kubernetes' $(VAR) expansion: $(NAME) of a defined
// variable becomes its value, $$ becomes $, anything else stays as it is.
func expandK8s(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// replaceArg replaces the arg old, which must be there exactly once.
func replaceArg(t *testing.T, pod string, args []string, old, repl string) []string {
	t.Helper()
	n := 0
	for i, a := range args {
		if a == old {
			args[i] = repl
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s: arg %q appears %d times in %q, want once: the StatefulSet changed; update the substitutions", pod, old, n, args)
	}
	return args
}

func resolvePort(t *testing.T, p intstr.IntOrString, named map[string]int32) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	if n, ok := named[p.StrVal]; ok {
		return n
	}
	t.Fatalf("probe port %q names no container port", p.StrVal)
	return 0
}

// preStopSleep is the container's preStop sleep (the only hook mirrored).
func preStopSleep(t *testing.T, ctr corev1.Container) time.Duration {
	t.Helper()
	if ctr.Lifecycle == nil || ctr.Lifecycle.PreStop == nil {
		return 0
	}
	ps := ctr.Lifecycle.PreStop
	if ps.Sleep == nil || ps.Exec != nil || ps.HTTPGet != nil || ps.TCPSocket != nil {
		t.Fatalf("preStop %+v: the test mirrors a sleep action only", ps)
	}
	return time.Duration(ps.Sleep.Seconds) * time.Second
}

// portFree reports why addr cannot be bound (nil when it can).
func portFree(network, addr string) error {
	if network == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// ---- the API server -------------------------------------------------------

// stsKubeconfig starts envtest, applies the render's namespace, service
// accounts and RBAC, and writes a kubeconfig that authenticates as the
// StatefulSet's service account: what --kubernetes would use in the pod.
func stsKubeconfig(t *testing.T, m *manifests, sts *appsv1.StatefulSet) (string, *kubetest.Env) {
	t.Helper()
	env := kubetest.StartForTest(t)
	k8s, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, u := range m.objects(t) {
		switch u.GetKind() {
		case "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if err := k8s.Create(t.Context(), u); err != nil {
				t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
			}
			applied++
		}
	}
	sa := sts.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	user := fmt.Sprintf("system:serviceaccount:%s:%s", sts.Namespace, sa)
	rc, err := env.UserConfig(user, "system:serviceaccounts", "system:serviceaccounts:"+sts.Namespace, "system:authenticated")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("envtest: applied %d RBAC objects of the render; the pods authenticate as %s", applied, user)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	writeKubeconfig(t, rc, path)
	return path, env
}

func writeKubeconfig(t *testing.T, rc *rest.Config, path string) {
	t.Helper()
	if err := clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"envtest": {Server: rc.Host, CertificateAuthorityData: rc.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"pod": {ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData, Token: rc.BearerToken}},
		Contexts:       map[string]*clientcmdapi.Context{"envtest": {Cluster: "envtest", AuthInfo: "pod"}},
		CurrentContext: "envtest",
	}, path); err != nil {
		t.Fatal(err)
	}
}

// ---- pods -------------------------------------------------------------------

// stsPod is one pod of the StatefulSet as a process: restarted with the
// same args, env and data folder.
type stsPod struct {
	*proc
	args     []string
	env      []string
	client   *api.Client
	readyURL string // the readinessProbe's httpGet
	probe    *http.Client
}

// start runs the container's process (again).
func (p *stsPod) start(t *testing.T) {
	t.Helper()
	if p.running() {
		t.Fatalf("start %s: already running", p.id)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, kv := range p.env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	fmt.Fprintf(logf, "---- %s start: conflux-sync %s (env %s)\n", time.Now().Format(time.RFC3339Nano), strings.Join(p.args, " "), strings.Join(names, " "))
	cmd := exec.Command(binPath, p.args...)
	// The test's environment without CONFLUX_SYNC_* settings, plus the
	// pod's (later entries win).
	cmd.Env = append(cleanEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", p.id, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	done := p.done
	pr := p.proc
	go func() {
		pr.werr = cmd.Wait()
		logf.Close()
		close(done)
	}()
}

// ready is one readinessProbe: 2xx or 3xx is success, as for the kubelet.
func (p *stsPod) ready() error {
	resp, err := p.probe.Get(p.readyURL)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// waitReady polls the readinessProbe until it passes. The kubelet probes
// every periodSeconds; polling faster only lets the controller move on
// sooner, which is the harder case for the cluster.
func (p *stsPod) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, p.id+" passes its readinessProbe", func() error {
		if !p.running() {
			return stopErr{fmt.Errorf("%s exited: %v", p.id, p.werr)}
		}
		return p.ready()
	})
}

func (p *stsPod) status(t *testing.T) api.ClusterStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.client.Status(ctx)
	if err != nil {
		t.Fatalf("status of %s: %v", p.id, err)
	}
	return st
}

// stsLeader waits until every pod names the same leader, that leader says
// it leads, every pod sees all of them as voters, and returns the leader
// and the cluster id (the same on every pod).
func stsLeader(t *testing.T, pods []*stsPod) (leader, clusterID string) {
	t.Helper()
	eventually(t, 60*time.Second, "one leader every pod agrees on, and all pods voters", func() error {
		leader, clusterID = "", ""
		leads := 0
		for _, p := range pods {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := p.client.Status(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %v", p.id, err)
			}
			if st.Leader == "" || (leader != "" && st.Leader != leader) {
				return fmt.Errorf("%s names leader %q, others %q", p.id, st.Leader, leader)
			}
			if clusterID != "" && st.ClusterID != clusterID {
				return fmt.Errorf("%s is in cluster %q, others in %q", p.id, st.ClusterID, clusterID)
			}
			leader, clusterID = st.Leader, st.ClusterID
			if st.State == "Leader" {
				leads++
			}
			voters := 0
			for _, mb := range st.Members {
				if mb.Suffrage == "voter" {
					voters++
				}
			}
			if voters != len(pods) || len(st.Members) != len(pods) {
				return fmt.Errorf("%s sees %d members, %d voters; want %d each: %+v", p.id, len(st.Members), voters, len(pods), st.Members)
			}
		}
		if leads != 1 {
			return fmt.Errorf("%d pods say they lead", leads)
		}
		return nil
	})
	return leader, clusterID
}

// ---- the client Service and the clients ---------------------------------------

// serviceEndpoints are the pods the client Service sends requests to.
type serviceEndpoints struct {
	mu   sync.Mutex
	in   []bool
	next int
}

func (e *serviceEndpoints) set(i int, in bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.in[i] = in
}

// pick is the next endpoint, round robin.
func (e *serviceEndpoints) pick() (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range e.in {
		i := e.next % len(e.in)
		e.next++
		if e.in[i] {
			return i, true
		}
	}
	return -1, false
}

// writeRecorder remembers when writes were acknowledged and why others
// failed.
type writeRecorder struct {
	mu     sync.Mutex
	oks    []time.Time
	failed []string
}

func (r *writeRecorder) add(node int, err error) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.oks = append(r.oks, now)
		return
	}
	r.failed = append(r.failed, fmt.Sprintf("node %d: %v", node, err))
}

func (r *writeRecorder) successes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.oks)
}

func (r *writeRecorder) summary() (ok, failed int, byErr map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byErr = map[string]int{}
	for _, f := range r.failed {
		byErr[f]++
	}
	return len(r.oks), len(r.failed), byErr
}

// longestGap is the longest time without an acknowledged write that
// overlaps [from, to], and when it ended. A window that began before from
// (or ends after to) counts whole; from and to bound it when no write was
// acknowledged before or after.
func (r *writeRecorder) longestGap(from, to time.Time) (time.Duration, time.Time) {
	r.mu.Lock()
	ts := slices.Clone(r.oks)
	r.mu.Unlock()
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var worst time.Duration
	var at time.Time
	prev := from
	for _, ok := range ts {
		if !ok.After(from) {
			prev = ok
			continue
		}
		if g := ok.Sub(prev); g > worst {
			worst, at = g, ok
		}
		prev = ok
		if ok.After(to) {
			return worst, at
		}
	}
	if g := to.Sub(prev); g > worst {
		worst, at = g, to
	}
	return worst, at
}
