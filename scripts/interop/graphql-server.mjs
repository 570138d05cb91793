// A graphql-ws server (the graphql-transport-ws protocol): `subscription { tick }` yields a
// number every 200 ms; it answers the client's {"type":"ping"} with {"type":"pong"} and
// closes with 4400 on anything it doesn't understand (such as another protocol's ping).
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { hello: { type: GraphQLString, resolve: () => 'world' } },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: GraphQLInt,
        subscribe: async function* ticks() {
          for (let n = 0; ; n += 1) {
            await new Promise((r) => setTimeout(r, 200));
            yield { tick: n };
          }
        },
      },
    },
  }),
});

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), path: '/graphql' });
useServer({ schema }, wss);
wss.on('listening', () => console.log(wss.address().port));
