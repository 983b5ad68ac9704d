package tfprovider

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// releaseType is the resource type, and the source namespace of its
// fragments: import and the policy find the provider's releases by it.
const releaseType = "conflux_release"

// retiredReleaseType is the source namespace of the markers of retired
// releases: a destroyed release a policy still names keeps its fragment
// until no policy names it (see retire and sweepRetired).
const retiredReleaseType = "conflux_release_retired"

// idRelease prefixes the status downstream id holding a release's
// version id; idShaSuffix follows it for the version's content sha256.
const (
	idRelease   = "release."
	idShaSuffix = ".sha"
)

// ReleaseResource is conflux_release: one immutable Conflux version,
// published through a fragment that holds just this release.
type ReleaseResource struct {
	c *clientData
}

var (
	_ resource.ResourceWithConfigure   = (*ReleaseResource)(nil)
	_ resource.ResourceWithImportState = (*ReleaseResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*ReleaseResource)(nil)
)

// NewReleaseResource returns the conflux_release resource.
func NewReleaseResource() resource.Resource { return &ReleaseResource{} }

type releaseModel struct {
	ID            types.String `tfsdk:"id"`
	ConfigID      types.String `tfsdk:"config_id"`
	Content       types.String `tfsdk:"content"`
	Description   types.String `tfsdk:"description"`
	IsStable      types.Bool   `tfsdk:"is_stable"`
	VersionID     types.String `tfsdk:"version_id"`
	ContentSHA256 types.String `tfsdk:"content_sha256"`
	ReleaseName   types.String `tfsdk:"release_name"`
}

// Metadata names the resource type.
func (r *ReleaseResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release"
}

// Schema describes conflux_release. Every argument forces a new resource
// because Conflux versions are immutable: a change publishes a new version
// and the old one stays in Conflux (until retention prunes it).
func (r *ReleaseResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "One immutable version of a Conflux config. Changing any argument publishes a new version; " +
			"the old version is kept in Conflux (versions are immutable), destroying the resource only stops conflux-sync from publishing it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, PlanModifiers: keep,
				Description: "`config_id/version_id`; the import id.",
			},
			"config_id": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "The config's id `tenant/application/environment/name`, e.g. `conflux_config.db.id`. Changing it publishes a new version (replaces).",
			},
			"content": schema.StringAttribute{
				Required: true, Sensitive: true, PlanModifiers: replace,
				Description: "The version's content, in the config's format; it must satisfy the config's schema. " +
					"Sensitive because it may hold credentials; like every argument it is stored in the Terraform state. At most 1 MiB. Changing it publishes a new version (replaces).",
			},
			"description": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(""), PlanModifiers: replace,
				Description: "The version's description; default `\"\"`. Changing it publishes a new version (replaces).",
			},
			"is_stable": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
				Description:   "Whether the version is stable: retention keeps the newest stable version, and destroying a policy falls back to it. Default `false`. Changing it publishes a new version (replaces).",
			},
			"version_id": schema.StringAttribute{
				Computed: true, PlanModifiers: keep,
				Description: "The Conflux version id (`ver_…`); refer to it in `conflux_release_policy` rules.",
			},
			"content_sha256": schema.StringAttribute{
				Computed: true, PlanModifiers: keep,
				Description: "Hex SHA-256 of `content`, as Conflux reports it; known at plan time.",
			},
			"release_name": schema.StringAttribute{
				Computed: true, PlanModifiers: keep,
				Description: "The release's name inside conflux-sync (policy fragments refer to releases by name): " +
					"`tf-` and 16 hex digits derived from `content`, `description` and `is_stable`, so it is known at plan time and two resources with the same arguments agree.",
			},
		},
	}
}

// Configure takes the provider's client.
func (r *ReleaseResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.c = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// releaseName is the deterministic name of a release with these
// arguments: two resources (or two runs) with equal arguments write the
// same release instead of conflicting over one name.
func releaseName(content, description string, stable bool) string {
	return "tf-" + api.SHA256Hex(content + "\x00" + description + "\x00" + strconv.FormatBool(stable))[:16]
}

func releaseTarget(configID string) api.TargetRef {
	return api.TargetRef{Kind: api.KindConfluxConfig, Name: configID}
}

func releaseSource(configID, name string) api.SourceRef {
	return source(releaseType, configID+"/"+name)
}

// ModifyPlan fills release_name and content_sha256 at plan time: both
// follow from the arguments, so the plan shows them instead of "known
// after apply".
func (r *ReleaseResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan releaseModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Content.IsUnknown() || plan.Description.IsUnknown() || plan.IsStable.IsUnknown() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("release_name"),
		releaseName(plan.Content.ValueString(), plan.Description.ValueString(), plan.IsStable.ValueBool()))...)
	if plan.ContentSHA256.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("content_sha256"), api.SHA256Hex(plan.Content.ValueString()))...)
	}
}

// Create writes the release's fragment and waits for the leader to
// publish it. Whatever keeps the version from being published (a schema
// violation, a lost conflict, no sync in time) removes the fragment
// again, so a failed create leaves nothing behind that would publish
// later or keep the config's sync failing.
func (r *ReleaseResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan releaseModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configID := plan.ConfigID.ValueString()
	rel := api.ConfluxRelease{
		Content:     plan.Content.ValueString(),
		Description: plan.Description.ValueString(),
		Stable:      plan.IsStable.ValueBool(),
	}
	rel.Name = releaseName(rel.Content, rel.Description, rel.Stable)
	target, src := releaseTarget(configID), releaseSource(configID, rel.Name)
	spec, err := json.Marshal(api.ConfluxConfigSpec{Releases: []api.ConfluxRelease{rel}})
	if err != nil {
		resp.Diagnostics.AddError("Cannot encode the release", err.Error())
		return
	}

	res, err := r.c.api.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: generation(), Spec: spec}, api.Wait(writeWait))
	if err != nil {
		if api.IsCode(err, api.CodeWaitTimeout) {
			resp.Diagnostics.AddAttributeError(path.Root("content"), "Release not published",
				fmt.Sprintf("release %s of config %s was not synced to Conflux within %s: %v", rel.Name, configID, writeWait, err))
			r.undo(ctx, target, src, &resp.Diagnostics)
			return
		}
		addAPIError(&resp.Diagnostics, releaseErrorPath(err), "Cannot write the release of config "+configID, err)
		return
	}
	if msg := syncError(res, target); msg != "" {
		st := syncStatus(res, target)
		// The flush stops at the first failing call; when our version was
		// published before something else failed, the release itself is
		// fine and only the config's sync is broken.
		if st == nil || st.DownstreamIDs[idRelease+rel.Name] == "" || st.DownstreamIDs[idRelease+rel.Name+idShaSuffix] != api.SHA256Hex(rel.Content) {
			at := path.Root("content")
			if !strings.Contains(msg, "release "+rel.Name) {
				at = path.Root("config_id")
			}
			resp.Diagnostics.AddAttributeError(at, "Conflux refused the release",
				fmt.Sprintf("config %s could not publish release %s, so the release was removed again: %s", configID, rel.Name, msg))
			r.undo(ctx, target, src, &resp.Diagnostics)
			return
		}
		resp.Diagnostics.AddWarning("Config "+configID+" is not in sync",
			fmt.Sprintf("release %s was published, but syncing the rest of the config failed: %s", rel.Name, msg))
	}

	t, found, err := getTarget(ctx, r.c.api, target)
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot read config "+configID, err)
		r.undo(ctx, target, src, &resp.Diagnostics)
		return
	}
	if reason := conflictOf(t, src); found && reason != "" {
		resp.Diagnostics.AddAttributeError(path.Root("content"), "Release conflicts with another source",
			fmt.Sprintf("release %s of config %s is not published: %s; the release was removed again", rel.Name, configID, reason))
		r.undo(ctx, target, src, &resp.Diagnostics)
		return
	}
	ids := map[string]string{}
	if st := syncStatus(res, target); st != nil {
		ids = st.DownstreamIDs
	}
	if found && t.Status != nil && t.Status.DownstreamIDs[idRelease+rel.Name] != "" {
		ids = t.Status.DownstreamIDs
	}
	vid := ids[idRelease+rel.Name]
	if vid == "" {
		resp.Diagnostics.AddAttributeError(path.Root("content"), "Release not published",
			fmt.Sprintf("release %s of config %s was not synced to Conflux within %s (no version id recorded); the release was removed again", rel.Name, configID, writeWait))
		r.undo(ctx, target, src, &resp.Diagnostics)
		return
	}
	r.unretire(ctx, configID, rel.Name)
	plan.ReleaseName = types.StringValue(rel.Name)
	plan.VersionID = types.StringValue(vid)
	plan.ID = types.StringValue(configID + "/" + vid)
	plan.ContentSHA256 = types.StringValue(cmp.Or(ids[idRelease+rel.Name+idShaSuffix], api.SHA256Hex(rel.Content)))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// releaseErrorPath maps a fragment field error of the admin API to the
// attribute it is about.
func releaseErrorPath(err error) path.Path {
	msg := err.Error()
	switch {
	case strings.Contains(msg, ".description"):
		return path.Root("description")
	case strings.Contains(msg, ".content"):
		return path.Root("content")
	}
	return path.Root("config_id")
}

// undo deletes a fragment a failed create wrote, waiting so the config's
// sync recovers before Terraform goes on.
func (r *ReleaseResource) undo(ctx context.Context, target api.TargetRef, src api.SourceRef, diags *diag.Diagnostics) {
	if _, err := r.c.api.DeleteFragment(ctx, target, src, api.Wait(writeWait)); err != nil && !api.IsCode(err, api.CodeNotFound) && !api.IsCode(err, api.CodeWaitTimeout) {
		diags.AddWarning("Cannot remove the failed release",
			fmt.Sprintf("the fragment of %s for %s is left behind (delete it with the admin API): %v", src, target, err))
	}
}

// Read refreshes the arguments from the provider's own fragment, so an
// out-of-band edit of the fragment shows as drift (and is repaired by
// replacing the resource), and the ids from the config's sync status.
func (r *ReleaseResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state releaseModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configID, name := state.ConfigID.ValueString(), state.ReleaseName.ValueString()
	t, found, err := getTarget(ctx, r.c.api, releaseTarget(configID))
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot read config "+configID, err)
		return
	}
	var frag *api.Fragment
	if found {
		frag = fragmentOf(t, releaseSource(configID, name))
	}
	if frag == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	rel, ok := releaseIn(*frag, name)
	if !ok {
		// The fragment no longer holds our release: nothing of this
		// resource is published any more.
		resp.State.RemoveResource(ctx)
		return
	}
	state.Content = types.StringValue(rel.Content)
	state.Description = types.StringValue(rel.Description)
	state.IsStable = types.BoolValue(rel.Stable)
	if t.Status != nil {
		if vid := t.Status.DownstreamIDs[idRelease+name]; vid != "" {
			state.VersionID = types.StringValue(vid)
			state.ID = types.StringValue(configID + "/" + vid)
		}
		state.ContentSHA256 = types.StringValue(cmp.Or(t.Status.DownstreamIDs[idRelease+name+idShaSuffix], rel.ContentSHA256()))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// releaseIn returns the release named name in a fragment written by this
// provider: the one release it holds when an edit renamed it.
func releaseIn(f api.Fragment, name string) (api.ConfluxRelease, bool) {
	var spec api.ConfluxConfigSpec
	if err := json.Unmarshal(f.Spec, &spec); err != nil {
		return api.ConfluxRelease{}, false
	}
	for _, rel := range spec.Releases {
		if rel.Name == name {
			return rel, true
		}
	}
	if len(spec.Releases) == 1 {
		return spec.Releases[0], true
	}
	return api.ConfluxRelease{}, false
}

// Update is never called: every argument requires replacement.
func (r *ReleaseResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("Unexpected update of conflux_release",
		"every argument of conflux_release requires replacement; this is a bug in the provider")
}

// Delete removes the fragment. The Conflux version stays: versions are
// immutable, and clients or the policy may still point at it. A release a
// policy still names is retired first, so the config stays in sync while
// Terraform replaces the release and then updates the policy.
func (r *ReleaseResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state releaseModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configID := state.ConfigID.ValueString()
	target := releaseTarget(configID)
	if retired, ok := r.retire(ctx, configID, state.ReleaseName.ValueString(), &resp.Diagnostics); retired || !ok {
		return
	}
	defer sweepRetired(ctx, r.c.api, target, &resp.Diagnostics)
	res, err := r.c.api.DeleteFragment(ctx, target, releaseSource(configID, state.ReleaseName.ValueString()), api.Wait(writeWait))
	switch {
	case api.IsCode(err, api.CodeNotFound):
		return
	case api.IsCode(err, api.CodeWaitTimeout):
		resp.Diagnostics.AddWarning("Config "+configID+" not yet in sync",
			fmt.Sprintf("the release was removed, but the config was not synced within %s: %v", writeWait, err))
		return
	case err != nil:
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot delete release "+state.ReleaseName.ValueString()+" of config "+configID, err)
		return
	}
	if msg := syncError(res, target); msg != "" {
		resp.Diagnostics.AddWarning("Config "+configID+" is not in sync",
			"the release was removed, but syncing the config failed (a policy may still name the release): "+msg)
	}
}

// retire keeps the fragment of release name while a policy fragment of
// any source names it: Terraform destroys a replaced release before it
// updates the policy that points at the new one, and without the
// definition conflux-sync could not sync the config in between. It writes
// a marker in the retired namespace instead of deleting the fragment;
// sweepRetired deletes both once no policy names the release. The marker
// repeats the release's definition (a fragment must define something);
// the older release fragment stays the release's owner, so nothing is
// published again. retired reports whether the release was retired; ok
// is false after an error.
func (r *ReleaseResource) retire(ctx context.Context, configID, name string, diags *diag.Diagnostics) (retired, ok bool) {
	target := releaseTarget(configID)
	t, found, err := getTarget(ctx, r.c.api, target)
	if err != nil {
		addAPIError(diags, path.Root("config_id"), "Cannot read config "+configID, err)
		return false, false
	}
	if !found || !policyReleases(t)[name] {
		return false, true
	}
	frag := fragmentOf(t, releaseSource(configID, name))
	if frag == nil {
		return false, true
	}
	_, err = r.c.api.PutFragment(ctx, api.Fragment{Target: target, Source: retiredSource(configID, name), Generation: generation(), Spec: frag.Spec}, api.Wait(writeWait))
	if err != nil && !api.IsCode(err, api.CodeWaitTimeout) {
		addAPIError(diags, path.Root("config_id"), "Cannot retire release "+name+" of config "+configID, err)
		return false, false
	}
	return true, true
}

// retiredSource is the source of the marker of a retired release.
func retiredSource(configID, name string) api.SourceRef {
	return source(retiredReleaseType, configID+"/"+name)
}

// policyReleases returns the names of the releases the policy fragments
// of a config name, of every source.
func policyReleases(t api.Target) map[string]bool {
	out := map[string]bool{}
	for _, f := range t.Fragments {
		var spec api.ConfluxConfigSpec
		if json.Unmarshal(f.Spec, &spec) != nil || spec.Policy == nil {
			continue
		}
		for _, rule := range spec.Policy.Rules {
			out[rule.Release] = true
		}
	}
	return out
}

// sweepRetired deletes the retired releases of target that no policy
// names any more: the marker first, then the release's fragment, so the
// marker never becomes the release's owner. The Conflux versions stay.
func sweepRetired(ctx context.Context, c *api.Client, target api.TargetRef, diags *diag.Diagnostics) {
	t, found, err := getTarget(ctx, c, target)
	if err != nil {
		diags.AddWarning("Cannot clean up retired releases", fmt.Sprintf("config %s could not be read: %v", target.Name, err))
		return
	}
	if !found {
		return
	}
	named := policyReleases(t)
	for _, f := range t.Fragments {
		if f.Source.Kind != SourceKind || f.Source.Namespace != retiredReleaseType {
			continue
		}
		var spec api.ConfluxConfigSpec
		if json.Unmarshal(f.Spec, &spec) != nil || slices.ContainsFunc(spec.Releases, func(rel api.ConfluxRelease) bool { return named[rel.Name] }) {
			continue
		}
		for _, src := range []api.SourceRef{f.Source, source(releaseType, f.Source.Name)} {
			if _, err := c.DeleteFragment(ctx, target, src, api.Wait(writeWait)); err != nil && !api.IsCode(err, api.CodeNotFound) && !api.IsCode(err, api.CodeWaitTimeout) {
				diags.AddWarning("Cannot clean up a retired release",
					fmt.Sprintf("the fragment of %s for %s is left behind (delete it with the admin API): %v", src, target.Name, err))
				break
			}
		}
	}
}

// unretire removes the marker of release name, so a release created again
// with the same arguments is not swept.
func (r *ReleaseResource) unretire(ctx context.Context, configID, name string) {
	_, _ = r.c.api.DeleteFragment(ctx, releaseTarget(configID), retiredSource(configID, name))
}

// ImportState takes "config_id/version_id" (config_id itself contains
// slashes, so the version id is what follows the last one) and finds the
// release of this provider that was published as that version.
func (r *ReleaseResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	i := strings.LastIndex(req.ID, "/")
	if i <= 0 || i == len(req.ID)-1 {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("%q: want config_id/version_id, e.g. acme/shop/prod/db.json/ver_0123", req.ID))
		return
	}
	configID, vid := req.ID[:i], req.ID[i+1:]
	t, found, err := getTarget(ctx, r.c.api, releaseTarget(configID))
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot read config "+configID, err)
		return
	}
	if found && t.Status != nil {
		for _, f := range t.Fragments {
			if f.Source.Kind != SourceKind || f.Source.Namespace != releaseType {
				continue
			}
			var spec api.ConfluxConfigSpec
			if json.Unmarshal(f.Spec, &spec) != nil {
				continue
			}
			for _, rel := range spec.Releases {
				if t.Status.DownstreamIDs[idRelease+rel.Name] != vid || f.Source != releaseSource(configID, rel.Name) {
					continue
				}
				st := releaseModel{
					ID:            types.StringValue(req.ID),
					ConfigID:      types.StringValue(configID),
					Content:       types.StringValue(rel.Content),
					Description:   types.StringValue(rel.Description),
					IsStable:      types.BoolValue(rel.Stable),
					VersionID:     types.StringValue(vid),
					ContentSHA256: types.StringValue(cmp.Or(t.Status.DownstreamIDs[idRelease+rel.Name+idShaSuffix], rel.ContentSHA256())),
					ReleaseName:   types.StringValue(rel.Name),
				}
				resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
				return
			}
		}
	}
	resp.Diagnostics.AddError("Cannot import release",
		fmt.Sprintf("no release created by this provider was published as version %s of config %s: only releases created by the conflux_release resource can be imported "+
			"(versions published by Git, Kubernetes or another tool belong to their producer)", vid, configID))
}
