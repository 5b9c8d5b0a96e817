// A minimal ActivityPub server built on Fedify (1.x or 2.x), used as a federation peer by fedikit's interop tests.
//
//   node fedify_peer.mjs PORT
//
// Actors are /users/<name> (any name; an RSA key pair is made for each on first use), with
// personal inboxes /users/<name>/inbox and a shared inbox /inbox. Incoming Follows are
// accepted at once and their actors become followers. Everything that arrives is recorded.
// Control routes for the tests (plain JSON, not ActivityPub):
//   GET /_follow?actor=<name>&target=<actor URL or handle>   send a Follow
//   GET /_post?actor=<name>&text=<text>[&target=<actor URL>] send a public Create(Note)
//                                                            to the followers (or to target)
//   GET /_received                                           what the inboxes received
import http from "node:http";
import {
  createFederation,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
} from "@fedify/fedify";

// Fedify 1.x exports the vocabulary itself; from 2.0 it lives in @fedify/vocab.
const vocab = await import("@fedify/vocab").catch(() => import("@fedify/fedify"));
const { Accept, Create, Endpoints, Follow, Note, Person, PUBLIC_COLLECTION, Undo } = vocab;

const port = Number(process.argv[2]);
const keys = new Map(); // actor name -> [CryptoKeyPair]
const followers = new Map(); // actor name -> Map(follower id -> follower actor object)
const notes = new Map(); // note id (string) -> Note
const received = [];
let counter = 0;

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  allowPrivateAddress: true, // every peer lives on 127.0.0.1
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Fedify peer ${identifier}`,
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      url: ctx.getActorUri(identifier),
      publicKey: pairs[0].cryptographicKey,
      assertionMethods: pairs.map((pair) => pair.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => {
    if (!keys.has(identifier)) keys.set(identifier, [await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")]);
    return keys.get(identifier);
  });

federation.setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) => ({
  items: [...(followers.get(identifier) ?? new Map()).values()].map((actor) => ({
    id: actor.id,
    inboxId: actor.inboxId,
    endpoints: actor.endpoints,
  })),
}));

federation.setObjectDispatcher(Note, "/notes/{id}", async (ctx, values) =>
  notes.get(ctx.getObjectUri(Note, values).href) ?? null,
);

async function record(ctx, activity) {
  received.push({
    recipient: ctx.recipient ?? null,
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    json: await activity.toJsonLd({ contextLoader: ctx.contextLoader }),
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    const name = ctx.parseUri(follow.objectId)?.identifier;
    const follower = await follow.getActor(ctx);
    if (name == null || follower == null) return;
    if (!followers.has(name)) followers.set(name, new Map());
    followers.get(name).set(follower.id.href, follower);
    const accept = new Accept({
      id: new URL(`#accepts/${++counter}`, ctx.getActorUri(name)),
      actor: ctx.getActorUri(name),
      object: follow,
    });
    await ctx.sendActivity({ identifier: name }, follower, accept);
  })
  .on(Undo, async (ctx, undo) => {
    await record(ctx, undo);
    const object = await undo.getObject(ctx);
    if (object instanceof Follow) {
      const name = ctx.parseUri(object.objectId)?.identifier;
      followers.get(name)?.delete(undo.actorId.href);
    }
  })
  .on(Accept, record)
  .on(Create, record)
  .onError((_ctx, error) => console.error("inbox error", error));

const json = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

async function control(url, res) {
  const ctx = federation.createContext(new URL(`http://127.0.0.1:${port}/`), undefined);
  const name = url.searchParams.get("actor") ?? "peer";
  const me = ctx.getActorUri(name);
  if (url.pathname === "/_received") return json(res, 200, received);
  if (url.pathname === "/_follow") {
    const target = await ctx.lookupObject(url.searchParams.get("target"));
    if (target?.inboxId == null) return json(res, 404, { error: "target not found" });
    const follow = new Follow({ id: new URL(`#follows/${++counter}`, me), actor: me, object: target.id });
    await ctx.sendActivity({ identifier: name }, target, follow);
    return json(res, 200, { id: follow.id.href, target: target.id.href });
  }
  if (url.pathname === "/_post") {
    const id = ctx.getObjectUri(Note, { id: String(++counter) });
    const note = new Note({
      id,
      attribution: me,
      content: url.searchParams.get("text"),
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(name),
      url: id,
    });
    notes.set(id.href, note);
    const create = new Create({
      id: new URL("#create", id),
      actor: me,
      object: note,
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(name),
    });
    const target = url.searchParams.get("target");
    const recipients = target ? [await ctx.lookupObject(target)] : [...(followers.get(name) ?? new Map()).values()];
    await ctx.sendActivity({ identifier: name }, recipients, create, { preferSharedInbox: true });
    return json(res, 200, { id: id.href, recipients: recipients.map((r) => r.id.href) });
  }
  return json(res, 404, { error: "no such control route" });
}

http
  .createServer(async (req, res) => {
    try {
      const url = new URL(req.url, `http://${req.headers.host ?? `127.0.0.1:${port}`}`);
      if (url.pathname.startsWith("/_")) return await control(url, res);
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks);
      const response = await federation.fetch(new Request(url, { method: req.method, headers: req.headers, body }), {
        contextData: undefined,
      });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      console.error(error);
      if (!res.headersSent) json(res, 500, { error: String(error) });
    }
  })
  .listen(port, "127.0.0.1", () => console.log(`fedify peer listening on ${port}`));
