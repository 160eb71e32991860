# Sourced by make.sh: environment of the private RabbitMQ node.
RMQ_BASE=/tmp/wscope-stomp-rmq
export HOME=$RMQ_BASE/home                 # .erlang.cookie of this node only
export RABBITMQ_NODENAME=wscope_stomp@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=9972
export RABBITMQ_DIST_PORT=9973
export ERL_EPMD_PORT=9974                  # a private epmd, not the shared 4369
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE=$RMQ_BASE/mnesia
export RABBITMQ_LOG_BASE=$RMQ_BASE/log
export RABBITMQ_PID_FILE=$RMQ_BASE/node.pid
export RABBITMQ_CONFIG_FILE=$RMQ_BASE/rabbitmq.conf
export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_BASE/advanced.config
export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_BASE/enabled_plugins
export RABBITMQ_CONF_ENV_FILE=$RMQ_BASE/rabbitmq-env.conf
export RABBITMQ_USE_LONGNAME=false
RMQ_BIN=/usr/lib/rabbitmq/bin
# distribution listener on loopback only
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
