/**
 * Runs the walkthrough against a running API and prints each step's result:
 *
 *   npm start &    # then:
 *   npm run example:client                                 # sends each document's text
 *   SEND=id npm run example:client                         # sends ids (server with TRUSTED_DOCUMENTS)
 *   API_URL=http://127.0.0.1:4000 EMAIL=bob@example.com npm run example:client
 */
import { walkthrough } from "./walkthrough";

const url = process.env.API_URL ?? "http://127.0.0.1:4000";
const email = process.env.EMAIL ?? "alice@example.com";
const send = process.env.SEND === "id" ? "id" : "text";

walkthrough({ url, email, send }).then(
  (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
