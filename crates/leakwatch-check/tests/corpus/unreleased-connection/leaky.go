package store

import (
	"database/sql"
	"io"
	"net/http"
)

func Names(db *sql.DB, team string) ([]string, error) {
	rows, err := db.Query("SELECT name FROM users WHERE team = $1 LIMIT 100", team) // expect: unreleased-connection
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return names, nil
}

func Fetch(url string) ([]byte, error) {
	resp, err := http.Get(url) // expect: unreleased-connection
	if err != nil {
		return nil, err
	}
	return io.ReadAll(resp.Body)
}

func Call(client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req) // expect: unreleased-connection
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
