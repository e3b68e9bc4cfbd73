package api

import (
	"database/sql"
	"net/http"

	"gorm.io/gorm"
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

func SomeUsers(orm *gorm.DB, page int) []User {
	var users []User
	db := orm.WithContext(ctx)
	db.Limit(50).Offset(page * 50).Find(&users)
	return users
}
