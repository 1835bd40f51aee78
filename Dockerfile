# zonerisk service image (docs/DEPLOYMENT.md#the-image).
#   docker build -t zonerisk .
#   docker run -p 3000:3000 -v zonerisk-data:/data zonerisk          # embedded engine, demo data
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://… zonerisk     # a real PostgreSQL + PostGIS
#
# Two stages: `build` compiles TypeScript and bundles the map page with every dev dependency;
# the runtime stage gets production dependencies and the built files only (no src/, bench/,
# test/, TypeScript, esbuild). test/deploy/image.test.ts reads the runtime stage's COPY lines,
# assembles exactly that file set and starts the service from it as a non-root user: a file
# the service needs and this stage does not copy fails that test.
# The Node major of both stages follows package.json "engines" (the same test checks it).

FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# scripts off: "prepare" would build before the sources are here; esbuild's own install
# script (the only one in the tree) is run explicitly
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild esbuild
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY seeds ./seeds
COPY bench ./bench
COPY web ./web
RUN npm run build

FROM node:26-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    ZONERISK_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; none has an install script, and the root's "prepare" (the
# build) must not run here
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin/zonerisk.js ./bin/
# compiled service, migrations (dist/src/db/migrate.js imports dist/migrations/*) and seed code
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/migrations ./dist/migrations
COPY --from=build /app/dist/seeds ./dist/seeds
# the map page's bundle (web/build.mjs → dist/web: /ui/bundle/app.js, app.css)
COPY --from=build /app/dist/web ./dist/web
# the pages served as they are (src/http/routes/ui.ts, /docs in src/http/app.ts)
COPY web/index.html web/docs.html web/docs.css web/docs.js web/favicon.svg ./web/
# the demo's data, read by dist/seeds at the embedded engine's first start (src/server.ts)
COPY seeds/dong-nai-communes.geojson seeds/dong-nai-2025-lineage.csv seeds/dong-nai-communes.README.md ./seeds/
# the embedded engine's data directory (used when DATABASE_URL is unset), writable by node
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# the service ends on SIGTERM: stops accepting, finishes requests in flight, stops
# recomputations between two days, closes the pool (docs/OPERATIONS.md#shutdown)
STOPSIGNAL SIGTERM
# no curl in the slim image: Node's fetch. /ready is 503 while the database is unreachable.
# The first start on the embedded engine migrates and loads the demo (under a minute).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/zonerisk.js", "serve"]
