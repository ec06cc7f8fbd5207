package pushleaderboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed leaderboard.sql
var sqlText string

//go:embed web
var web embed.FS

// Route is the pattern the job manager mounts Handler at.
const Route = "GET /demo/leaderboard/"

// SQL returns the job's script: live-room job 9, the top gifters of each
// room pushed to front ends.
func SQL() string { return sqlText }

// Handler serves the demo page (index.html and leaderboard.js) under
// /demo/leaderboard/.
func Handler() http.Handler {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded directory exists: a build without it does not compile
	}
	return http.StripPrefix("/demo/leaderboard/", http.FileServerFS(sub))
}
