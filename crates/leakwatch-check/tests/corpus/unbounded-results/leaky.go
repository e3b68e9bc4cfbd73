package api

import (
	"database/sql"
	"net/http"

	"gorm.io/gorm"
)

var db *sql.DB

func ListEvents(w http.ResponseWriter, r *http.Request) {
	rows, err := db.QueryContext(r.Context(), "SELECT id, payload FROM events") // expect: unbounded-results
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	defer rows.Close()
	writeRows(w, rows)
}

func AllUsers(orm *gorm.DB) []User {
	var users []User
	db := orm.WithContext(ctx)
	db.Find(&users) // expect: unbounded-results
	return users
}
