# An old JDK 8, but with an explicit heap: sized by hand, not from the host.
FROM openjdk:8u181-jre-alpine
ENV JAVA_OPTS="-Xmx512m"
COPY app.jar /app.jar
CMD java $JAVA_OPTS -jar /app.jar
