// Package push is the 'push' connector: a sink table whose changes the job
// manager serves to front ends, live, at GET /v1/streams/{table}?key=VALUE
// over Server-Sent Events (the default) or WebSocket (an Upgrade request).
//
// Every message is a JSON object {"kind": "+I"|"-U"|"+U"|"-D", "row":
// {column: value, ...}, "token": "EPOCH.SEQUENCE"}; Server-Sent Events also
// carry the token as the event's id. Rows become visible when committed:
// with checkpointing, a writer keeps its rows until their checkpoint
// completes (the committable holds them, so a recovery publishes what a
// crashed run prepared); without, at every write.
//
// The Hub, in the job manager's process, numbers each table's messages,
// keeps the latest 'buffer-size' of them and the live rows of tables with a
// PRIMARY KEY, and ignores a commit it published already (by writer
// instance, subtask, checkpoint and part). A client that reconnects with its last token
// (?token= or Last-Event-ID) receives every message after it, then live
// ones; a client without a token starts with the table's current rows (as
// +I messages) unless it asks ?snapshot=false. A token older than the
// buffer, or from another job manager lifetime (its epoch), ends the
// stream with {"kind": "error", "reload": true, ...} (WebSocket: close code
// 4000): the client must start again without a token; rows are never
// silently missing. Filtering by key keeps the stream's order.
//
// Writers publish through a Publisher: the Hub itself in the job manager
// and its local task managers, a Client of the job manager's
// eddy.push.v1.PushService on remote task managers.
package push
