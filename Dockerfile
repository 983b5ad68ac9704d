# The conflux-sync image: one static binary on distroless, non-root (uid
# 65532, as deploy/base's securityContext expects), no shell.
#   docker build -t ghcr.io/conflux-sync/conflux-sync:dev .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/conflux-sync ./cmd/conflux-sync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/conflux-sync /conflux-sync
USER 65532:65532
EXPOSE 7780 7781 7782 7782/udp
ENTRYPOINT ["/conflux-sync"]
