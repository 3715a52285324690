// One imapflow session against Castellan, for ImapflowTest: prints one JSON object with what
// each step returned. Usage: node imapflow-session.cjs PORT CA_FILE USER PASSWORD
// imapflow is found through NODE_PATH (the test points it at the pinned installation).
'use strict';
const fs = require('fs');
const { ImapFlow } = require('imapflow');

const [port, caFile, user, pass] = process.argv.slice(2);
const out = {};

// imapflow reports the server's "+" to IDLE only through its logger.
let idleStarted;
const idling = new Promise(resolve => { idleStarted = resolve; });
const quiet = () => {};
const logger = {
    trace: quiet, info: quiet, warn: quiet, error: quiet,
    debug: entry => { if (entry && entry.msg === 'Initiated IDLE, waiting for server input') idleStarted(); }
};

function client(log) {
    return new ImapFlow({
        host: 'localhost', port: Number(port), secure: true,
        tls: { ca: [fs.readFileSync(caFile)], servername: 'localhost', minVersion: 'TLSv1.2' },
        auth: { user, pass }, logger: log, disableAutoIdle: true
    });
}

function within(ms, promise, what) {
    let timer;
    const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what + ' did not happen')), ms); });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function main() {
    const c = client(logger);
    await c.connect();
    out.authenticated = c.authenticated;
    out.tls = c.secureConnection;

    out.list = (await c.list()).map(m => ({ path: m.path, specialUse: m.specialUse || null, delimiter: m.delimiter }));

    const box = await c.mailboxOpen('INBOX');
    out.open = { path: box.path, exists: box.exists, uidValidity: String(box.uidValidity), readOnly: box.readOnly };

    out.fetch = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, source: true })) {
        out.fetch.push({
            seq: m.seq, uid: m.uid, flags: [...m.flags].sort(),
            subject: m.envelope.subject, from: m.envelope.from.map(a => a.address),
            messageId: m.envelope.messageId || null,
            type: m.bodyStructure.type,
            parts: (m.bodyStructure.childNodes || []).map(p => p.type),
            sourceBytes: m.source.length,
            firstLine: m.source.toString('utf8').split('\r\n')[0]
        });
    }

    out.flagsAdd = await c.messageFlagsAdd('1', ['\\Flagged']);
    const flagged = await c.fetchOne('1', { flags: true });
    out.flagsAfter = [...flagged.flags].sort();

    const appended = await c.append('INBOX', 'From: alice@example.org\r\nTo: bob@example.org\r\n'
        + 'Subject: written by imapflow\r\n\r\nhello from node\r\n', ['\\Seen']);
    out.append = { uid: appended.uid, uidValidity: String(appended.uidValidity) };

    out.search = await c.search({ subject: 'imapflow' });
    out.searchFlagged = await c.search({ flagged: true }, { uid: true });

    // IDLE: another session's APPEND must reach this one as EXISTS while it idles.
    const exists = new Promise(resolve => c.on('exists', e => resolve(e)));
    const idle = c.idle();
    await within(20000, idling, 'the server\'s "+" to IDLE');
    const other = client(false);
    await other.connect();
    await other.append('INBOX', 'From: carol@example.net\r\nSubject: while idling\r\n\r\nwake up\r\n');
    await other.logout();
    const e = await within(20000, exists, 'EXISTS during IDLE');
    out.idleExists = { path: e.path, count: e.count, prevCount: e.prevCount };

    await c.logout();
    await idle.catch(() => {});
    out.loggedOut = true;
}

main().then(() => {
    process.stdout.write(JSON.stringify(out) + '\n');
}, err => {
    process.stdout.write(JSON.stringify({ error: String(err && err.stack || err), partial: out }) + '\n');
    process.exitCode = 1;
});
