{{/* The application's name (the app.kubernetes.io/name label). */}}
{{- define "conflux-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The objects' name: fullnameOverride (default conflux-sync, the names of
deploy/base), else Helm's usual release-derived name. At most 52 characters:
the StatefulSet's controller-revision-hash label adds a suffix to it.
*/}}
{{- define "conflux-sync.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The headless Service: each pod's stable DNS name for raft and gossip. */}}
{{- define "conflux-sync.headless" -}}
{{- printf "%s-headless" (include "conflux-sync.fullname" .) -}}
{{- end -}}

{{/*
Selector labels. app.kubernetes.io/instance is added only when the objects'
name is not the application's name, so the defaults equal deploy/base and two
differently named installations never select each other's pods.
*/}}
{{- define "conflux-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "conflux-sync.name" . }}
{{- if ne (include "conflux-sync.fullname" .) (include "conflux-sync.name" .) }}
app.kubernetes.io/instance: {{ include "conflux-sync.fullname" . }}
{{- end }}
{{- end -}}

{{/* Labels of every object (deploy/base's kustomization labels). */}}
{{- define "conflux-sync.labels" -}}
{{ include "conflux-sync.selectorLabels" . }}
app.kubernetes.io/part-of: conflux-sync
{{- end -}}

{{/*
The Secret every node mounts: cluster-secret and tokens. existingSecret, or
the one the init-secrets Job generates, named like the objects.
*/}}
{{- define "conflux-sync.secretName" -}}
{{- default (include "conflux-sync.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/*
The Secret with the Conflux API token: conflux.tokenSecret.name, else the
one rendered from secret.confluxToken, else existingSecret.
*/}}
{{- define "conflux-sync.confluxSecretName" -}}
{{- if .Values.conflux.tokenSecret.name -}}
{{- .Values.conflux.tokenSecret.name -}}
{{- else if .Values.secret.confluxToken -}}
{{- printf "%s-conflux-api" (include "conflux-sync.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "conflux-sync.secretName" . -}}
{{- end -}}
{{- end -}}

{{/*
The init-secrets Job, its ServiceAccount, Role and RoleBinding. At most 63
characters: the Job's name is also a label value of its pods.
*/}}
{{- define "conflux-sync.initSecretsName" -}}
{{- printf "%s-init-secrets" (include "conflux-sync.fullname" . | trunc 50 | trimSuffix "-") -}}
{{- end -}}

{{/* The init-secrets Job's pod labels: never the nodes' selector. */}}
{{- define "conflux-sync.initSecretsSelectorLabels" -}}
app.kubernetes.io/name: {{ include "conflux-sync.name" . }}-init-secrets
{{- if ne (include "conflux-sync.fullname" .) (include "conflux-sync.name" .) }}
app.kubernetes.io/instance: {{ include "conflux-sync.fullname" . }}
{{- end }}
{{- end -}}

{{/* --join: every pod's gossip address, from replicas and the names. */}}
{{- define "conflux-sync.join" -}}
{{- $full := include "conflux-sync.fullname" . -}}
{{- $headless := include "conflux-sync.headless" . -}}
{{- $peers := list -}}
{{- range $i := until (int .Values.replicas) -}}
{{- $peers = append $peers (printf "%s-%d.%s.$(POD_NAMESPACE).svc:7782" $full $i $headless) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}
