# An old JDK 8 told to size its heap from the cgroup limit, through a build
# argument expanded into JAVA_OPTS (8u131-8u190's experimental flag).
FROM openjdk:8u171-jre-alpine3.8
ARG JAVA_OPTS_ARGS='\
 -Djava.net.preferIPv4Stack=true \
 -XX:+UnlockExperimentalVMOptions \
 -XX:+UseCGroupMemoryLimitForHeap '
ENV JAVA_OPTS="${JAVA_OPTS} ${JAVA_OPTS_ARGS}"
ENTRYPOINT java ${JAVA_OPTS} -jar ./app.jar
