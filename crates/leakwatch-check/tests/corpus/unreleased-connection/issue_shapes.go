package api

import "net/http"

var client = &http.Client{}

func Status(url string) int {
	resp, err := client.Get(url) // expect: unreleased-connection
	if err != nil {
		return 0
	}
	return resp.StatusCode
}
