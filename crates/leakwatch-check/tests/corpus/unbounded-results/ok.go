package api

import (
	"context"
	"database/sql"
	"net/http"
)

var db *sql.DB

func ListEvents(w http.ResponseWriter, r *http.Request) {
	rows, err := db.QueryContext(r.Context(), "SELECT id, payload FROM events ORDER BY id DESC LIMIT 100")
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	defer rows.Close()
	writeRows(w, rows)
}

func Count(w http.ResponseWriter, r *http.Request) {
	row := db.QueryRowContext(r.Context(), "SELECT count(*) FROM events")
	writeRow(w, row)
}

func SomeUsers(orm *gormDB, page int) []User {
	var users []User
	db := orm.WithContext(ctx)
	db.Limit(50).Offset(page * 50).Find(&users)
	return users
}

// A stand-in for gorm.DB with the same method shapes, so the file type-checks.
type gormDB struct{}

func (d *gormDB) WithContext(ctx context.Context) *gormDB { return d }
func (d *gormDB) Find(dest interface{}) *gormDB         { return d }
func (d *gormDB) Limit(n int) *gormDB                    { return d }
func (d *gormDB) Offset(n int) *gormDB                   { return d }

type User struct{ Name string }

var ctx = context.Background()

func writeRows(w http.ResponseWriter, rows *sql.Rows) {}
func writeRow(w http.ResponseWriter, row *sql.Row)    {}
