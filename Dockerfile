# syntax=docker/dockerfile:1
# One image for every MediaShar service group: the container's SERVICES env picks which services
# this node runs (SERVICES=gateway,ops/ops for a gateway, SERVICES=donations for a donations worker: a context folder under services/ or one folder/file).
# Leave SERVICES unset for the all-in-one node (every service in one process).

# ---- deps: the full dependency tree, cached while package*.json do not change ----
# The base image is the runtime (Node.js 24 LTS). A checkout carries the same Node as the `node`
# dev dependency, whose preinstall script fetches the binary; --ignore-scripts skips it here (and
# every other dependency's install script: none is needed to build), so no second runtime is
# downloaded, and `npm prune --omit=dev` below removes the package itself.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

# ---- build: TypeScript → dist/, browser pages → public/build, then drop dev dependencies ----
FROM deps AS build
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
    && test ! -e node_modules/node && test ! -e node_modules/.bin/node

# ---- runtime: compiled code and production dependencies only, as an unprivileged user ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    SERVICEDIR=dist/services \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# The runner handles SIGTERM: the broker stops taking work, lets in-flight requests and channel
# messages finish (up to SHUTDOWN_TIMEOUT_MS) and leaves the cluster.
STOPSIGNAL SIGTERM
CMD ["node", "node_modules/moleculer/bin/moleculer-runner.js", "--config", "dist/moleculer.config.js"]
