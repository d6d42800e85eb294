# The passby relay: built in one stage, run in another that holds production dependencies and
# the compiled JavaScript only, as the unprivileged `node` user. Checked without a Docker engine by
# test/ops/production-image.test.ts, which runs these steps as a script in a clean copy.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY protocol ./protocol
COPY relay ./relay
COPY client-sdk ./client-sdk
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY scripts ./scripts
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "--max-semi-space-size=32", "dist/relay/main.js"]
