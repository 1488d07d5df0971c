# syntax=docker/dockerfile:1
#
# One image for every role of the stack. The role is picked by the command:
#   node dist/rustfs.js          RustFS file archive (default)
#   node dist/deep-memory.js     deep-memory server
#   node dist/rustfs-worker.js   extraction/ingest worker
#   node dist/gateway.js         OpenClaw gateway          (later issue)
#   node dist/cli.js             command-line tool
# docker-compose.yml sets the command and the health check per service, so the
# image itself carries no HEALTHCHECK (it would be wrong for the CLI role).
# The last stage (runtime) is the default target; `dev` serves the
# deep-memory development profile only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# .npmrc first: it tells npm to skip the onnxruntime binary download.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build


# Development image for the deep-memory profile: the build stage with its dev
# dependencies, rebuilding from a ./src mounted over /app/src at each start.
# It runs as node (the embedded PostgreSQL refuses root), so node must be able
# to replace /app/dist.
FROM build AS dev
RUN chown node:node /app && chown -R node:node /app/dist \
 && mkdir -p /data && chown node:node /data
USER node
ENV HOST=0.0.0.0 DATA_DIR=/data
VOLUME /data
EXPOSE 8088
CMD ["sh", "-c", "npm run build --silent && exec node dist/deep-memory.js"]


FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY --from=build /app/dist ./dist

# Application files stay root-owned (read-only for the service); only the data
# directory belongs to the unprivileged user. A named volume mounted on /data
# inherits this ownership the first time it is created. Running as non-root is
# also required by the embedded PostgreSQL, which refuses to start as root.
RUN mkdir -p /data && chown node:node /data
USER node

ENV RUSTFS_HOST=0.0.0.0 RUSTFS_DATA_DIR=/data
VOLUME /data

# 8099 RustFS, 8088 deep-memory, 8097 rustfs-worker health, 18789 gateway
EXPOSE 8099 8088 8097 18789

CMD ["node", "dist/rustfs.js"]
