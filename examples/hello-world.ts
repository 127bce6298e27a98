// Hello world: declare a queue, publish a message, consume it, print it, close.
// Run with `npm start` (or `npx tsx examples/hello-world.ts`) against a local RabbitMQ.
import { fromUrl } from '../src/index.js';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const [transport, protocol] = await fromUrl(url, { onError: (err) => console.error('connection error:', err) });
const channel = await protocol.channel();
const { queue } = await channel.queueDeclare('', { exclusive: true });

const received = new Promise<string>((resolve) => {
  void channel.basicConsume(
    async (ch, body, envelope) => {
      ch.basicClientAck(envelope.deliveryTag);
      resolve(body.toString());
    },
    { queueName: queue },
  );
});

await channel.publish('Hello World!', '', queue, { contentType: 'text/plain' });
console.log(`received: ${await received}`);
await protocol.close();
transport.close();
