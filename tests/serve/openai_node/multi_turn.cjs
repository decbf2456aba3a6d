// The official OpenAI client (npm `openai`) holding a three-turn chat with llmrt serve, the last
// turn streamed with usage. Usage: node multi_turn.cjs PORT; the key comes from $LLMRT_TEST_KEY.
// Prints one JSON object: every turn's reply text and usage, as the client parsed them.
const OpenAI = require('openai');

async function main() {
  const client = new OpenAI({
    baseURL: `http://127.0.0.1:${process.argv[2]}/v1`,
    apiKey: process.env.LLMRT_TEST_KEY,
    maxRetries: 0,
    timeout: 20000,
  });
  const messages = [
    {role: 'system', content: 'answer briefly'},
    {role: 'user', content: 'first question here'},
  ];
  const turns = [];
  for (const next of ['second question', null]) {
    const reply = await client.chat.completions.create({model: 'echo', messages});
    const content = reply.choices[0].message.content;
    turns.push({content, usage: reply.usage ?? null});
    messages.push({role: 'assistant', content});
    if (next) messages.push({role: 'user', content: next});
  }
  messages.push({role: 'user', content: 'third question streamed'});
  const stream = await client.chat.completions.create(
      {model: 'echo', messages, stream: true, stream_options: {include_usage: true}});
  let content = '';
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) content += chunk.choices[0].delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  turns.push({content, usage});
  process.stdout.write(JSON.stringify({turns}) + '\n');
}

main().catch((error) => {
  process.stderr.write(`openai client failed: ${error.message}\n`);
  process.exit(1);
});
