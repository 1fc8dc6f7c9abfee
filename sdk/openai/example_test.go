package openai_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/loupe-dev/loupe/sdk/openai"
)

func ExampleClient_CreateChatCompletion() {
	client := openai.NewClient("https://api.openai.com/v1", os.Getenv("OPENAI_API_KEY"))
	cc, err := client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model:    "gpt-4o-mini",
		Messages: []openai.Message{{Role: "user", Content: "Say hi."}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cc.Choices[0].Message.Content)
}

func ExampleClient_CreateChatCompletionStream() {
	client := openai.NewClient("http://localhost:11434/v1", "")
	stream, err := client.CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{
		Model:    "llama3.2",
		Messages: []openai.Message{{Role: "user", Content: "Count to three."}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close() // ends the span if the loop stops early
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range chunk.Choices {
			fmt.Print(c.Delta.Content)
		}
	}
}
