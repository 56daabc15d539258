#!/usr/bin/env node
// A Node.js client of rlvr-gym's gRPC API, built only from the .proto files: proof that
// the wire API is language-neutral (no Python, no generated code).
//
// Usage: node client.js HOST:PORT
// Calls grpc.health.v1.Health/Check (service "") and RewardService/ScoreBatch (Math-v0,
// gold "42", three responses) twice, as scores and as columns, then prints one JSON object
// on stdout: {"target": ..., "health": "SERVING", "scores": [{"reward", "status",
// "extracted"}, ...], "columns": [the same three, read from ScoreColumns]}
// with statuses as ScoreStatus enum names. Any error: a message on stderr, exit code 1.
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO_ROOT = path.resolve(__dirname, "..", "..", "..", "proto");
const DEADLINE_MS = 30000;
// Loopback test servers: never route through an http(s)_proxy from the environment.
const CHANNEL_OPTIONS = { "grpc.enable_http_proxy": 0 };

function load() {
  const definition = protoLoader.loadSync(
    ["rlvr_gym/proto/v1/reward_service.proto", "health.proto"],
    {
      includeDirs: [PROTO_ROOT, __dirname],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  return grpc.loadPackageDefinition(definition);
}

function unary(client, method, request) {
  const deadline = new Date(Date.now() + DEADLINE_MS);
  return new Promise((resolve, reject) => {
    client[method](request, { deadline }, (err, reply) => {
      if (err) {
        const code = grpc.status[err.code] ?? err.code;
        reject(new Error(`${method} failed: ${code}: ${err.details || err.message}`));
      } else {
        resolve(reply);
      }
    });
  });
}

async function main(argv) {
  if (argv.length !== 1 || !argv[0].includes(":")) {
    throw new Error("usage: node client.js HOST:PORT");
  }
  const target = argv[0];
  const api = load();
  const credentials = grpc.credentials.createInsecure();
  const health = new api.grpc.health.v1.Health(target, credentials, CHANNEL_OPTIONS);
  const rewards = new api.rlvr_gym.proto.v1.RewardService(target, credentials, CHANNEL_OPTIONS);
  try {
    const check = await unary(health, "Check", { service: "" });
    const request = {
      env_id: "rlvr_gym/Math-v0",
      task: { math: { answer: "42" } },
      responses: ["\\boxed{42}", "\\boxed{41}", "no answer"],
    };
    const batch = await unary(rewards, "ScoreBatch", request);
    const columns = (await unary(rewards, "ScoreBatch", { ...request, columnar: true })).columns;
    const result = {
      target,
      health: check.status,
      scores: batch.scores.map((s) => ({
        reward: s.reward,
        status: s.status,
        extracted: s.extracted,
      })),
      columns: columns.reward.map((reward, i) => ({
        reward,
        status: columns.status[i],
        extracted: columns.extracted[i],
      })),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    health.close();
    rewards.close();
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`client.js: error: ${err.message}\n`);
  process.exitCode = 1;
});
