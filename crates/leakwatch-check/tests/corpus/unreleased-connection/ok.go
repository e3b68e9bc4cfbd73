package store

import (
	"database/sql"
	"io"
	"net/http"
	"net/url"
)

func Names(db *sql.DB, team string) ([]string, error) {
	rows, err := db.Query("SELECT name FROM users WHERE team = $1 LIMIT 100", team)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return names, rows.Err()
}

func Fetch(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func Open(db *sql.DB) (*sql.Rows, error) {
	rows, err := db.Query("SELECT name FROM users LIMIT 10")
	return rows, err
}

func Query(u *url.URL) string {
	q := u.Query()
	return q.Get("x")
}
