package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/sso"
	"github.com/loupe-dev/loupe/internal/store"
)

// The settings page: a person's account and API keys and, for admins, the
// users, the system keys and every user's keys. Its forms are plain HTML
// forms answered with 303 back to the page, but for a new key, whose token
// the answer itself shows, once.

type settingsPage struct {
	frame
	Off   bool // authentication is off: no users, no keys
	Flash string
	// Me is the person's account; nil for the admin secret, which has none.
	Me        *store.User
	NewKey    *newKey
	MyKeys    []keyRow
	OwnForm   keyForm
	Manage    bool
	Users     []userRow
	UserForm  userForm
	UserError string // a refused change of a listed user
	System    []keyRow
	SysForm   keyForm
	Others    []keyRow // every user's personal keys
	Providers []sso.Button
	Roles     []roleOption
	Today     string // the earliest expiry date
}

// keyTable is a list of keys as the page draws it.
type keyTable struct {
	Rows   []keyRow
	Owners bool // a column for whose they are
	Empty  string
}

func (v settingsPage) MyKeyTable() keyTable {
	return keyTable{Rows: v.MyKeys, Empty: "None yet. A key lets a program (an OpenTelemetry exporter, a script, arize-phoenix-client) act as you."}
}

func (v settingsPage) SystemKeyTable() keyTable {
	return keyTable{Rows: v.System, Empty: "None yet. A system key suits a service that sends spans: it outlives any one person's account."}
}

func (v settingsPage) OthersKeyTable() keyTable {
	return keyTable{Rows: v.Others, Owners: true, Empty: "No other user has a key."}
}

// keyFormView is a form that creates a key, as the page draws it.
type keyFormView struct {
	keyForm
	Action, Button, Placeholder, Today string
}

func (v settingsPage) OwnKeyForm() keyFormView {
	return keyFormView{keyForm: v.OwnForm, Action: "/settings/keys", Button: "Create personal key", Placeholder: "e.g. laptop", Today: v.Today}
}

func (v settingsPage) SystemKeyForm() keyFormView {
	return keyFormView{keyForm: v.SysForm, Action: "/settings/system-keys", Button: "Create system key", Placeholder: "e.g. ingest-prod", Today: v.Today}
}

// newKey is a key just created: its token is shown this once.
type newKey struct {
	Name, Token string
	System      bool
}

type keyRow struct {
	store.APIKey
	Expires string // "never", or the date
	Expired bool
	Revoke  string // where the revoke form posts
}

// keyForm is a form that creates a key, as typed when refused.
type keyForm struct {
	Name, Expires, Error string
}

type userRow struct {
	store.User
	Me, Default bool
	NoPassword  bool // logs in through an identity provider
	RoleName    string
	RoleClass   string
}

type userForm struct {
	Username, Email, Role, Error string
}

// roleOption is a role in a select: Label in the form that creates a
// user, Short in the users list.
type roleOption struct{ Value, Label, Short string }

var roleOptions = []roleOption{
	{"VIEWER", "Viewer — reads", "Viewer"},
	{"MEMBER", "Member — writes and annotates", "Member"},
	{"ADMIN", "Admin — manages users and keys", "Admin"},
}

// settingsFlashes are what the page says after a form did its work: fixed
// words, since anyone can make a link with ?done=.
var settingsFlashes = map[string]string{
	"password": "Your new password is saved. Your other sessions have ended.",
	"revoked":  "The key is revoked: it stopped working at once.",
	"user":     "User created. With a password, they log in with it and choose their own.",
	"role":     "Role changed: it applies to the user's sessions and keys at once.",
	"deleted":  "User deleted, with their sessions and keys.",
}

// settings is GET /settings.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request) {
	h.renderSettings(w, r, http.StatusOK, settingsPage{Flash: settingsFlashes[r.URL.Query().Get("done")]})
}

// renderSettings draws the page around what v already holds: a flash, a
// new key, or a refused form.
func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, v settingsPage) {
	ctx := r.Context()
	v.frame = h.frame(ctx, r, "Settings", "")
	p := auth.FromContext(ctx)
	if h.auth == nil || p == nil {
		v.Off = true
		h.render(w, r, status, "settings", v)
		return
	}
	v.Roles = roleOptions
	v.Today = h.now().UTC().Format("2006-01-02")
	v.Providers = h.sso.Buttons("")
	if p.UserID != 0 {
		me, err := h.auth.User(ctx, p.UserID)
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		v.Me = &me
		keys, err := h.auth.APIKeys(ctx, store.APIKeyQuery{UserID: p.UserID})
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		v.MyKeys = h.keyRows(keys, "/settings/keys/")
	}
	if v.Manage = p.Can(auth.Manage); v.Manage {
		users, err := h.auth.Users(ctx, store.UserQuery{})
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		for _, u := range users {
			v.Users = append(v.Users, userRow{User: u, Me: u.ID == p.UserID, Default: auth.IsDefaultAdmin(u),
				NoPassword: u.PasswordHash == "", RoleName: roleName(auth.Role(u.Role)), RoleClass: strings.ToLower(u.Role)})
		}
		system, err := h.auth.APIKeys(ctx, store.APIKeyQuery{System: true})
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		v.System = h.keyRows(system, "/settings/system-keys/")
		all, err := h.auth.APIKeys(ctx, store.APIKeyQuery{})
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		for _, k := range all {
			if k.UserID != p.UserID {
				v.Others = append(v.Others, h.keyRow(k, "/settings/keys/"))
			}
		}
	}
	if v.UserForm.Role == "" {
		v.UserForm.Role = string(auth.RoleMember)
	}
	h.render(w, r, status, "settings", v)
}

func (h *Handler) keyRows(keys []store.APIKey, revokeBase string) []keyRow {
	out := make([]keyRow, len(keys))
	for i, k := range keys {
		out[i] = h.keyRow(k, revokeBase)
	}
	return out
}

func (h *Handler) keyRow(k store.APIKey, revokeBase string) keyRow {
	row := keyRow{APIKey: k, Expires: "never", Revoke: revokeBase + strconv.FormatInt(k.ID, 10) + "/revoke"}
	if k.ExpiresAt != 0 {
		at := time.Unix(0, k.ExpiresAt).UTC()
		row.Expires = at.Format("2006-01-02 15:04 UTC")
		if at.Equal(at.Truncate(24 * time.Hour)) {
			// The end of the day the form named: that day is the last.
			row.Expires = at.Add(-time.Hour).Format("2006-01-02")
		}
		row.Expired = h.now().UnixNano() >= k.ExpiresAt
	}
	return row
}

// parseSettingsForm reads a settings form, small as they all are.
func parseSettingsForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// keyFromForm reads the name and the optional expiry date of a key: it
// expires at the end of that day, UTC.
func keyFromForm(r *http.Request, userID int64) (auth.NewKey, keyForm, error) {
	f := keyForm{Name: strings.TrimSpace(r.PostFormValue("name")), Expires: strings.TrimSpace(r.PostFormValue("expires"))}
	nk := auth.NewKey{Name: f.Name, UserID: userID}
	if f.Expires != "" {
		day, err := time.Parse("2006-01-02", f.Expires)
		if err != nil {
			return nk, f, formErrorf("The expiry is a date such as 2030-12-31, or empty for none.")
		}
		nk.ExpiresAt = day.Add(24 * time.Hour)
	}
	return nk, f, nil
}

// createKey creates the key a form describes and shows its token.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, userID int64) {
	nk, form, err := keyFromForm(r, userID)
	if err == nil {
		k, token, err := h.auth.CreateAPIKey(r.Context(), nk)
		if err == nil {
			h.renderSettings(w, r, http.StatusCreated, settingsPage{NewKey: &newKey{Name: k.Name, Token: token, System: userID == 0}})
			return
		}
		if !errors.Is(err, store.ErrInvalidArgument) {
			h.fail(w, r, err, notFound{})
			return
		}
		form.Error = sentence(err)
	} else {
		form.Error = err.Error()
	}
	v := settingsPage{}
	if userID == 0 {
		v.SysForm = form
	} else {
		v.OwnForm = form
	}
	h.renderSettings(w, r, http.StatusUnprocessableEntity, v)
}

// person returns the principal of a form only a person logged in sends,
// or answers 403: an API key creates no keys, so that a leaked one cannot
// mint its replacement.
func (h *Handler) person(w http.ResponseWriter, r *http.Request) (*auth.Principal, bool) {
	p := auth.FromContext(r.Context())
	if h.auth == nil || p == nil || !p.Human() {
		http.Error(w, "Only a person logged in to the UI manages their keys here; API keys cannot create API keys.", http.StatusForbidden)
		return nil, false
	}
	return p, true
}

// createOwnKey is POST /settings/keys: a personal key, which acts with
// its owner's role.
func (h *Handler) createOwnKey(w http.ResponseWriter, r *http.Request) {
	p, ok := h.person(w, r)
	if !ok || !parseSettingsForm(w, r) {
		return
	}
	h.createKey(w, r, p.UserID)
}

// createSystemKey is POST /settings/system-keys, for admins: a key for a
// service, which writes (ingests, annotates) but manages nothing.
func (h *Handler) createSystemKey(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if h.auth == nil || p == nil || !p.Human() && p.Kind != auth.KindSystem {
		http.Error(w, "API keys cannot create API keys.", http.StatusForbidden)
		return
	}
	if !parseSettingsForm(w, r) {
		return
	}
	h.createKey(w, r, 0)
}

// revokeOwnKey is POST /settings/keys/{id}/revoke: a person revokes their
// own key, an admin anyone's. Another's key is reported missing, so the
// route tells no one which keys exist.
func (h *Handler) revokeOwnKey(w http.ResponseWriter, r *http.Request) {
	p, ok := h.person(w, r)
	if !ok {
		return
	}
	h.revokeKey(w, r, func(k store.APIKey) bool { return !k.System() && (k.UserID == p.UserID || p.Can(auth.Manage)) })
}

// revokeSystemKey is POST /settings/system-keys/{id}/revoke, for admins.
func (h *Handler) revokeSystemKey(w http.ResponseWriter, r *http.Request) {
	if h.auth == nil {
		h.notFoundPage(w, r)
		return
	}
	h.revokeKey(w, r, store.APIKey.System)
}

// settingsID reads the route's {id}, of a key or a user; a malformed one
// gets the 404 page missing describes, which a store's not found gets too.
func (h *Handler) settingsID(w http.ResponseWriter, r *http.Request, what, hint string) (int64, notFound, bool) {
	missing := notFound{What: what, ID: r.PathValue("id"), Back: "/settings", BackFor: "Settings", Hint: hint}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.notFound(w, r, missing)
		return 0, missing, false
	}
	return id, missing, true
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, may func(store.APIKey) bool) {
	id, missing, ok := h.settingsID(w, r, "API key", "No key of yours has this id; it may have been revoked already.")
	if !ok {
		return
	}
	k, err := h.auth.APIKey(r.Context(), id)
	if err == nil && (k.RevokedAt != 0 || !may(k)) {
		err = store.ErrNotFound
	}
	if err == nil {
		err = h.auth.RevokeAPIKey(r.Context(), id)
	}
	if err != nil {
		h.fail(w, r, err, missing)
		return
	}
	http.Redirect(w, r, "/settings?done=revoked", http.StatusSeeOther)
}

// createUser is POST /settings/users, for admins.
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	if h.auth == nil {
		h.notFoundPage(w, r)
		return
	}
	if !parseSettingsForm(w, r) {
		return
	}
	f := userForm{Username: strings.TrimSpace(r.PostFormValue("username")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Role: r.PostFormValue("role")}
	password := r.PostFormValue("password")
	role, err := auth.ParseRole(f.Role)
	switch {
	case err != nil:
		f.Error = "Choose a role: viewer, member or admin."
	case password == "" && !h.sso.SignUp() && len(h.sso.Buttons("")) == 0:
		f.Error = "Give them an initial password: without an identity provider, it is the only way they can log in."
	default:
		_, err = h.auth.CreateUser(r.Context(), auth.NewUser{Username: f.Username, Email: f.Email, Role: role, Password: password})
		switch {
		case err == nil:
			http.Redirect(w, r, "/settings?done=user#users", http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrConflict) && strings.Contains(err.Error(), "username"):
			f.Error = "The username " + strconv.Quote(f.Username) + " is taken."
		case errors.Is(err, store.ErrConflict):
			f.Error = "A user with the email " + strconv.Quote(f.Email) + " exists already."
		case errors.Is(err, store.ErrInvalidArgument):
			f.Error = sentence(err)
		default:
			h.fail(w, r, err, notFound{})
			return
		}
	}
	h.renderSettings(w, r, http.StatusUnprocessableEntity, settingsPage{UserForm: f})
}

// setUserRole is POST /settings/users/{id}/role, for admins.
func (h *Handler) setUserRole(w http.ResponseWriter, r *http.Request) {
	h.changeUser(w, r, "role", func(id int64) error {
		role, err := auth.ParseRole(r.PostFormValue("role"))
		if err != nil {
			return formErrorf("Choose a role: viewer, member or admin.")
		}
		if p := auth.FromContext(r.Context()); p != nil && p.UserID == id {
			return formErrorf("You cannot change your own role; another admin can.")
		}
		return h.auth.SetRole(r.Context(), id, role)
	})
}

// deleteUser is POST /settings/users/{id}/delete, for admins; not of
// oneself, which would end the session doing it.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	h.changeUser(w, r, "deleted", func(id int64) error {
		if p := auth.FromContext(r.Context()); p != nil && p.UserID == id {
			return formErrorf("You cannot delete yourself; another admin can.")
		}
		return h.auth.DeleteUser(r.Context(), id)
	})
}

// changeUser applies change to the user of the route's id, and comes back
// to the page saying done, or why not.
func (h *Handler) changeUser(w http.ResponseWriter, r *http.Request, done string, change func(id int64) error) {
	if h.auth == nil {
		h.notFoundPage(w, r)
		return
	}
	if !parseSettingsForm(w, r) {
		return
	}
	id, missing, ok := h.settingsID(w, r, "User", "No user has this id; they may have been deleted.")
	if !ok {
		return
	}
	var fe *formError
	switch err := change(id); {
	case err == nil:
		http.Redirect(w, r, "/settings?done="+done+"#users", http.StatusSeeOther)
	case errors.As(err, &fe), errors.Is(err, auth.ErrForbidden), errors.Is(err, store.ErrInvalidArgument):
		// The default admin stays an admin, no one deletes themselves, a
		// role is one of three.
		h.renderSettings(w, r, http.StatusUnprocessableEntity, settingsPage{UserError: sentence(err)})
	default:
		h.fail(w, r, err, missing)
	}
}
